//! The lab's hands inside each namespace: `overcast lab-agent recv|send`.
//!
//! The lab re-executes its own binary under `ip netns exec`, so joins are
//! made by the namespace's kernel (which sends the IGMP reports itself) and
//! no python is needed. A receiver speaks a line protocol on stdin/stdout:
//! it prints `ready` once joined and listening; `count` answers
//! `count wire=N app=M` (frames that reached the port, datagrams the socket
//! got) and resets both; `leave` drops the membership and answers `left`;
//! end of input stops it.

use super::sniff::Sniffer;
use socket2::{Domain, Protocol, Socket, Type};
use std::io::{self, BufRead, Write};
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4, UdpSocket};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

/// How often the counting threads look at the stop flag.
const TICK: Duration = Duration::from_millis(100);

/// `lab-agent recv`: count a group's traffic on one interface.
#[derive(Debug, Clone, clap::Args)]
pub struct RecvArgs {
    /// The group.
    #[arg(long)]
    pub group: Ipv4Addr,
    /// UDP port.
    #[arg(long)]
    pub port: u16,
    /// The interface to watch (and join on).
    #[arg(long)]
    pub iface: String,
    /// The interface's address (the join's local address).
    #[arg(long)]
    pub local: Ipv4Addr,
    /// Watch only, join nothing (a bystander).
    #[arg(long)]
    pub no_join: bool,
}

/// `lab-agent send`: send datagrams to a group.
#[derive(Debug, Clone, clap::Args)]
pub struct SendArgs {
    /// The group.
    #[arg(long)]
    pub group: Ipv4Addr,
    /// UDP port.
    #[arg(long)]
    pub port: u16,
    /// Source address (selects the interface).
    #[arg(long)]
    pub local: Ipv4Addr,
    /// How many datagrams.
    #[arg(long)]
    pub count: u32,
    /// Pause between datagrams, in milliseconds.
    #[arg(long, default_value_t = 2)]
    pub interval_ms: u64,
}

/// Send `count` datagrams; prints `sent N`.
pub fn send(args: &SendArgs) -> io::Result<()> {
    let sock = Socket::new(Domain::IPV4, Type::DGRAM, Some(Protocol::UDP))?;
    sock.bind(&SocketAddr::V4(SocketAddrV4::new(args.local, 0)).into())?;
    sock.set_multicast_if_v4(&args.local)?;
    sock.set_multicast_ttl_v4(1)?;
    sock.set_multicast_loop_v4(false)?;
    let sock: UdpSocket = sock.into();
    let to = SocketAddrV4::new(args.group, args.port);
    for i in 0..args.count {
        sock.send_to(format!("overcast lab {i}").as_bytes(), to)?;
        std::thread::sleep(Duration::from_millis(args.interval_ms));
    }
    println!("sent {}", args.count);
    Ok(())
}

/// Join (unless a bystander), count, and obey stdin until it closes.
pub fn recv(args: &RecvArgs) -> io::Result<()> {
    let wire = Arc::new(AtomicU64::new(0));
    let app = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let failed: Arc<Mutex<Option<String>>> = Arc::default();
    let sniffer = Sniffer::open(&args.iface, args.group, args.port, TICK)?;
    let sock = Arc::new(group_socket(args)?);
    let mut threads = Vec::new();
    {
        let (wire, stop, failed) = (wire.clone(), stop.clone(), failed.clone());
        threads.push(std::thread::spawn(move || {
            let mut buf = vec![0u8; 65_536];
            while !stop.load(Ordering::Relaxed) {
                match sniffer.next(&mut buf) {
                    Ok(true) => {
                        wire.fetch_add(1, Ordering::Relaxed);
                    }
                    Ok(false) => {}
                    Err(e) => {
                        let mut f = failed.lock().unwrap_or_else(PoisonError::into_inner);
                        *f = Some(format!("the port watcher failed: {e}"));
                        break;
                    }
                }
            }
        }));
    }
    {
        let (app, stop, sock) = (app.clone(), stop.clone(), sock.clone());
        threads.push(std::thread::spawn(move || {
            let mut buf = [0u8; 2048];
            while !stop.load(Ordering::Relaxed) {
                if sock.recv(&mut buf).is_ok() {
                    app.fetch_add(1, Ordering::Relaxed);
                }
            }
        }));
    }
    let mut out = io::stdout().lock();
    writeln!(out, "ready")?;
    out.flush()?;
    for line in io::stdin().lock().lines() {
        let line = line?;
        let failure = failed
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        if let Some(why) = failure {
            // Counts would be wrong from here on: say so instead.
            writeln!(out, "error {why}")?;
            out.flush()?;
            continue;
        }
        match line.trim() {
            "count" => writeln!(
                out,
                "count wire={} app={}",
                wire.swap(0, Ordering::Relaxed),
                app.swap(0, Ordering::Relaxed)
            )?,
            "leave" => {
                if !args.no_join {
                    sock.leave_multicast_v4(&args.group, &args.local)?;
                }
                writeln!(out, "left")?;
            }
            other => writeln!(out, "error unknown command {other:?}")?,
        }
        out.flush()?;
    }
    stop.store(true, Ordering::Relaxed);
    for t in threads {
        let _ = t.join();
    }
    Ok(())
}

/// A socket bound to `group:port`, joined on `local` unless a bystander.
fn group_socket(args: &RecvArgs) -> io::Result<UdpSocket> {
    let sock = Socket::new(Domain::IPV4, Type::DGRAM, Some(Protocol::UDP))?;
    sock.set_reuse_address(true)?;
    sock.bind(&SocketAddr::V4(SocketAddrV4::new(args.group, args.port)).into())?;
    if !args.no_join {
        sock.join_multicast_v4(&args.group, &args.local)?;
    }
    sock.set_read_timeout(Some(TICK))?;
    Ok(sock.into())
}
