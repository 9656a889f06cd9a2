//! The control verbs: what an operator can ask of a running node, and the
//! answers. The control socket (`driver::control`) carries them as JSON lines;
//! the node answers all but `reload`, which needs the driver's I/O (re-reading
//! the file, binding sockets) and ends in [`super::Node::apply`].

use super::Node;
use crate::packet::ethernet::MacAddr;
use crate::port::PortId;
use crate::switch::Switch;
use crate::time::Instant;
use serde::{Deserialize, Serialize};

/// A control request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "cmd", rename_all = "snake_case", deny_unknown_fields)]
pub enum Request {
    /// A state view: `state`, `ports`, `fdb`, `mdb`, `querier`, `peers`, `counters`, `vlans`.
    Show {
        /// Which view.
        what: String,
    },
    /// Remove learned FDB entries (static ones stay).
    FdbFlush {
        /// Only this port's entries.
        #[serde(default)]
        port: Option<String>,
    },
    /// Re-read the configuration and apply it without a restart.
    Reload,
    /// Pin a MAC to a port (a static FDB entry).
    FdbAdd {
        /// Station MAC.
        mac: MacAddr,
        /// Port name.
        port: String,
        /// VLAN id (0 = untagged).
        #[serde(default)]
        vlan: u16,
    },
    /// Remove an FDB entry, static or learned.
    FdbDel {
        /// Station MAC.
        mac: MacAddr,
        /// VLAN id (0 = untagged).
        #[serde(default)]
        vlan: u16,
    },
    /// Pin a port as a member of a group (a static MDB entry).
    MdbAdd {
        /// The group.
        group: std::net::IpAddr,
        /// Port name.
        port: String,
        /// VLAN id (0 = untagged).
        #[serde(default)]
        vlan: u16,
    },
    /// Remove a static MDB entry.
    MdbDel {
        /// The group.
        group: std::net::IpAddr,
        /// Port name.
        port: String,
        /// VLAN id (0 = untagged).
        #[serde(default)]
        vlan: u16,
    },
    /// Forget learned multicast groups and router ports.
    MdbFlush {
        /// Only this port's.
        #[serde(default)]
        port: Option<String>,
    },
}

/// A control response.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Response {
    /// Whether the request succeeded.
    pub ok: bool,
    /// The result, when `ok`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<serde_json::Value>,
    /// Why it failed, when not `ok`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl Response {
    /// A success carrying `data`.
    pub fn ok(data: impl Serialize) -> Response {
        match serde_json::to_value(data) {
            Ok(v) => Response {
                ok: true,
                data: Some(v),
                error: None,
            },
            Err(e) => Response::err(format!("cannot encode reply: {e}")),
        }
    }

    /// A failure.
    pub fn err(reason: impl Into<String>) -> Response {
        Response {
            ok: false,
            data: None,
            error: Some(reason.into()),
        }
    }
}

impl Node {
    /// Answer one control request. `reload` is the driver's to serve; here it is refused.
    pub fn command(&mut self, req: &Request, now: Instant) -> Response {
        match req {
            Request::Show { what } => self.show(what, now),
            Request::FdbFlush { port } => match port_id(&self.switch, port.as_deref()) {
                Ok(id) => {
                    Response::ok(serde_json::json!({ "removed": self.switch.fdb_mut().flush(id) }))
                }
                Err(e) => e,
            },
            Request::FdbAdd { mac, port, vlan } => match port_id(&self.switch, Some(port)) {
                Ok(Some(id)) => match self.switch.add_static_fdb(*vlan, *mac, id) {
                    Ok(()) => Response::ok(serde_json::json!({ "added": true })),
                    Err(e) => Response::err(e.to_string()),
                },
                Ok(None) => Response::err("a port is required"),
                Err(e) => e,
            },
            Request::FdbDel { mac, vlan } => {
                let removed = self.switch.fdb_mut().remove(*vlan, *mac);
                Response::ok(serde_json::json!({ "removed": removed }))
            }
            Request::MdbAdd { group, port, vlan } => match port_id(&self.switch, Some(port)) {
                Ok(Some(id)) => match self.switch.add_static_mdb(*vlan, *group, id) {
                    Ok(()) => Response::ok(serde_json::json!({ "added": true })),
                    Err(e) => Response::err(e.to_string()),
                },
                Ok(None) => Response::err("a port is required"),
                Err(e) => e,
            },
            Request::MdbDel { group, port, vlan } => match port_id(&self.switch, Some(port)) {
                Ok(Some(id)) => {
                    let removed = self.switch.remove_static_mdb(*vlan, *group, id);
                    Response::ok(serde_json::json!({ "removed": removed }))
                }
                Ok(None) => Response::err("a port is required"),
                Err(e) => e,
            },
            Request::MdbFlush { port } => match port_id(&self.switch, port.as_deref()) {
                Ok(id) => {
                    self.switch.snooper_mut().flush(id);
                    Response::ok(serde_json::json!({ "flushed": true }))
                }
                Err(e) => e,
            },
            Request::Reload => Response::err("this switch was started without a way to reload"),
        }
    }

    fn show(&self, what: &str, now: Instant) -> Response {
        match what {
            "state" | "counters" => Response::ok(self.state(now)),
            "ports" => Response::ok(self.switch.port_views(now)),
            "fdb" => Response::ok(self.switch.state(now).fdb),
            "peers" => Response::ok(self.peers(now)),
            "mdb" => Response::ok(self.switch.mdb(now)),
            "querier" => Response::ok(self.switch.mdb(now).queriers),
            "vlans" => Response::ok(self.switch.vlan_rows()),
            other => Response::err(format!("unknown view {other:?}")),
        }
    }
}

/// The port called `name`, or every port for `None`.
fn port_id(core: &Switch, name: Option<&str>) -> Result<Option<PortId>, Response> {
    match name {
        None => Ok(None),
        Some(n) => core
            .port_by_name(n)
            .map(Some)
            .ok_or_else(|| Response::err(format!("no port named {n:?}"))),
    }
}
