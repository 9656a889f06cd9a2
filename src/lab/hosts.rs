//! Lab hosts: a namespace each, the switch's TAP moved into it, and agent
//! processes started inside it (`ip netns exec NS overcast lab-agent ...`).

use super::cleanup::Guard;
use super::LabError;
use std::io::{self, BufRead, BufReader, Write};
use std::net::Ipv4Addr;
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

/// How long an agent may take to answer.
const AGENT_TIMEOUT: Duration = Duration::from_secs(10);

/// Run `ip ARGS`; an error carries its stderr.
pub(super) fn ip(args: &[&str]) -> Result<String, LabError> {
    let out = Command::new("ip")
        .args(args)
        .stdin(Stdio::null())
        .output()?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(LabError::Command {
            cmd: format!("ip {}", args.join(" ")),
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        })
    }
}

/// One lab host.
#[derive(Debug, Clone)]
pub(super) struct Host {
    /// Short name for people: `h1`.
    pub label: String,
    /// Namespace name.
    pub ns: String,
    /// Its TAP (the switch port).
    pub tap: String,
    /// Its address.
    pub addr: Ipv4Addr,
}

impl Host {
    /// Create the namespace (registered first, so cleanup knows it).
    pub fn create(
        guard: &Guard,
        label: String,
        ns: String,
        tap: String,
        addr: Ipv4Addr,
    ) -> Result<Host, LabError> {
        {
            let mut res = guard.lock();
            res.namespaces.push(ns.clone());
            ip(&["netns", "add", &ns])?;
        }
        ip(&["-n", &ns, "link", "set", "lo", "up"])?;
        Ok(Host {
            label,
            ns,
            tap,
            addr,
        })
    }

    /// Move the switch's TAP in, address it, and route multicast out of it.
    pub fn plug(&self) -> Result<(), LabError> {
        ip(&["link", "set", &self.tap, "netns", &self.ns])?;
        let cidr = format!("{}/24", self.addr);
        ip(&["-n", &self.ns, "addr", "add", &cidr, "dev", &self.tap])?;
        // IPv4 only: no IPv6 link-local, so no MLD reports in the demo's MDB.
        ip(&[
            "-n",
            &self.ns,
            "link",
            "set",
            &self.tap,
            "addrgenmode",
            "none",
        ])?;
        ip(&["-n", &self.ns, "link", "set", &self.tap, "up"])?;
        ip(&[
            "-n",
            &self.ns,
            "route",
            "add",
            "224.0.0.0/4",
            "dev",
            &self.tap,
        ])?;
        Ok(())
    }

    /// `ip netns exec NS EXE lab-agent ARGS`.
    fn agent_command(&self, exe: &Path, args: &[String]) -> Command {
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", &self.ns])
            .arg(exe)
            .arg("lab-agent")
            .args(args);
        cmd
    }

    /// Start a receiver (joined, or a bystander with `join = false`) and wait until it is ready.
    pub fn receiver(
        &self,
        guard: &Guard,
        exe: &Path,
        group: Ipv4Addr,
        port: u16,
        join: bool,
    ) -> Result<Agent, LabError> {
        let mut args = vec![
            "recv".to_string(),
            format!("--group={group}"),
            format!("--port={port}"),
            format!("--iface={}", self.tap),
            format!("--local={}", self.addr),
        ];
        if !join {
            args.push("--no-join".into());
        }
        let mut child = self
            .agent_command(exe, &args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()?;
        guard.lock().agents.push(child.id());
        let stdin = child.stdin.take();
        let lines = child.stdout.take().map(|out| {
            let (tx, rx) = mpsc::channel();
            std::thread::spawn(move || {
                for line in BufReader::new(out).lines().map_while(Result::ok) {
                    if tx.send(line).is_err() {
                        break;
                    }
                }
            });
            rx
        });
        let mut agent = Agent {
            host: self.label.clone(),
            child,
            stdin,
            lines,
        };
        agent.expect("ready")?;
        Ok(agent)
    }

    /// Send `count` datagrams to the group and wait until they are out.
    pub fn send(&self, exe: &Path, group: Ipv4Addr, port: u16, count: u32) -> Result<(), LabError> {
        let args = [
            "send".to_string(),
            format!("--group={group}"),
            format!("--port={port}"),
            format!("--local={}", self.addr),
            format!("--count={count}"),
        ];
        let out = self
            .agent_command(exe, &args)
            .stdin(Stdio::null())
            .output()?;
        if out.status.success() {
            Ok(())
        } else {
            Err(LabError::Agent {
                host: self.label.clone(),
                reason: String::from_utf8_lossy(&out.stderr).trim().to_string(),
            })
        }
    }
}

/// A running receiver agent.
pub(super) struct Agent {
    host: String,
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Option<Receiver<String>>,
}

impl Agent {
    fn fail(&self, reason: impl Into<String>) -> LabError {
        LabError::Agent {
            host: self.host.clone(),
            reason: reason.into(),
        }
    }

    /// Send one command line.
    fn say(&mut self, cmd: &str) -> Result<(), LabError> {
        let sent = match self.stdin.as_mut() {
            Some(stdin) => writeln!(stdin, "{cmd}").and_then(|_| stdin.flush()),
            None => Err(io::Error::from(io::ErrorKind::BrokenPipe)),
        };
        sent.map_err(|e| self.fail(format!("cannot talk to the agent: {e}")))
    }

    /// Wait for a line starting with `prefix`; return it.
    fn expect(&mut self, prefix: &str) -> Result<String, LabError> {
        let deadline = Instant::now() + AGENT_TIMEOUT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let got = self
                .lines
                .as_ref()
                .ok_or_else(|| self.fail("no output"))?
                .recv_timeout(left);
            match got {
                Ok(line) if line.starts_with(prefix) => return Ok(line),
                Ok(line) if line.starts_with("error") => return Err(self.fail(line)),
                Ok(_) => {}
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    return Err(self.fail(format!("no {prefix:?} within {AGENT_TIMEOUT:?}")))
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    return Err(self.fail("exited (see its error above)"))
                }
            }
        }
    }

    /// Frames that reached the port and datagrams the socket got since the last count.
    pub fn count(&mut self) -> Result<(u64, u64), LabError> {
        self.say("count")?;
        let line = self.expect("count")?;
        let field = |name: &str| {
            line.split_whitespace()
                .find_map(|w| w.strip_prefix(name))
                .and_then(|v| v.parse::<u64>().ok())
        };
        match (field("wire="), field("app=")) {
            (Some(w), Some(a)) => Ok((w, a)),
            _ => Err(self.fail(format!("bad count line {line:?}"))),
        }
    }

    /// Drop the membership (the kernel sends the leave).
    pub fn leave(&mut self) -> Result<(), LabError> {
        self.say("leave")?;
        self.expect("left").map(|_| ())
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        // End of input stops the agent; kill it if it does not stop by itself.
        self.stdin = None;
        let deadline = Instant::now() + Duration::from_secs(2);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
