//! Operating on ports and pinned entries: names, settings changed by a
//! reload, static FDB and MDB entries. Nothing here decides where a frame goes.

use super::{PortConfig, Switch, SwitchError};
use crate::igmp::config::PortSnoopConfig;
use crate::packet::ethernet::MacAddr;
use crate::port::PortId;
use std::net::IpAddr;
use std::time::Duration;

impl Switch {
    /// Change a port's idle timeout and multicast settings in place (live reload).
    pub fn set_port_options(
        &mut self,
        port: PortId,
        idle_timeout: Option<Duration>,
        snoop: PortSnoopConfig,
    ) {
        if let Some(p) = self.ports.get_mut(port) {
            p.cfg.idle_timeout = idle_timeout;
            p.cfg.snoop = snoop.clone();
            self.snooper.add_port(port, snoop, p.last_rx);
        }
    }

    /// Change the most MACs a port may have learned behind it (live reload);
    /// entries above a lowered limit stay until they age.
    pub fn set_port_mac_limit(&mut self, port: PortId, max_macs: Option<usize>) {
        if let Some(p) = self.ports.get_mut(port) {
            p.cfg.max_macs = max_macs;
            self.fdb.set_port_limit(port, max_macs);
        }
    }

    /// The settings a port was added with (as changed since).
    pub fn port_config(&self, port: PortId) -> Option<&PortConfig> {
        self.ports.get(port).map(|p| &p.cfg)
    }

    /// The id of the port called `name`.
    pub fn port_by_name(&self, name: &str) -> Option<PortId> {
        self.ports.by_name(name)
    }

    /// The name of a port.
    pub fn port_name(&self, port: PortId) -> Option<&str> {
        self.ports.get(port).map(|p| p.cfg.name.as_str())
    }

    /// Every port's name, by id.
    pub fn port_names(&self) -> Vec<(PortId, String)> {
        self.ports
            .iter()
            .map(|(id, p)| (id, p.cfg.name.clone()))
            .collect()
    }

    /// Pin a station MAC (unicast, non-zero: [`MacAddr::is_station`]) to a port.
    pub fn add_static_fdb(
        &mut self,
        vlan: u16,
        mac: MacAddr,
        port: PortId,
    ) -> Result<(), SwitchError> {
        if !mac.is_station() {
            return Err(SwitchError::NotStation(mac));
        }
        self.fdb.add_static(vlan, mac, port);
        Ok(())
    }

    /// Pin `port` as a member of `group` in `vlan`: it gets the group's
    /// traffic whatever IGMP/MLD says, until removed (like `bridge mdb add … permanent`).
    pub fn add_static_mdb(
        &mut self,
        vlan: u16,
        group: IpAddr,
        port: PortId,
    ) -> Result<(), SwitchError> {
        if !group.is_multicast() {
            return Err(SwitchError::NotMulticast(group));
        }
        if self.ports.get(port).is_none() {
            return Err(SwitchError::NoSuchPort(port.to_string()));
        }
        self.snooper.pinned_mut().pin(vlan, group, port);
        Ok(())
    }

    /// Remove a pinned membership; returns whether it existed.
    pub fn remove_static_mdb(&mut self, vlan: u16, group: IpAddr, port: PortId) -> bool {
        self.snooper.pinned_mut().unpin(vlan, group, port)
    }

    /// Pinned memberships, in (VLAN, group, port) order.
    pub fn static_mdb(&self) -> impl Iterator<Item = (u16, IpAddr, PortId)> + '_ {
        self.snooper.pinned().iter()
    }
}
