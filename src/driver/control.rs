//! The control socket: one JSON request per line in, one JSON response per line out.
//!
//! The socket is created mode 0600, and a connecting process must also be
//! root or the switch's own user (SO_PEERCRED), so a permissive umask or a
//! wrong directory mode cannot open it up. A malformed request gets an error
//! reply; it never reaches the switch.

pub use crate::node::command::{Request, Response};
use std::io::{self, BufRead, BufReader, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt};
use tracing::{debug, warn};

/// Default control socket path: the instance named [`DEFAULT_NAME`].
pub const DEFAULT_PATH: &str = "/run/overcast/control.sock";
/// The name of an instance started with no `--name` and no config file.
pub const DEFAULT_NAME: &str = "control";
/// Where instances put their sockets unless `$RUNTIME_DIRECTORY` (set by
/// systemd's `RuntimeDirectory=`) says otherwise.
pub const DEFAULT_DIR: &str = "/run/overcast";

/// The directory instance sockets live in.
pub fn socket_dir() -> PathBuf {
    std::env::var_os("RUNTIME_DIRECTORY")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(DEFAULT_DIR))
}

/// The control socket of the instance called `name`: `DIR/<name>.sock`.
pub fn path_for(name: &str) -> PathBuf {
    socket_dir().join(format!("{name}.sock"))
}

/// An instance name must be usable as a file name.
pub fn check_name(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        && !name.starts_with('.');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "instance name {name:?}: use 1 to 64 letters, digits, '-', '_' or '.' (not first)"
        ))
    }
}

/// Running instances: the names and sockets in [`socket_dir`] that accept a
/// connection (a socket left behind by a killed instance does not), by name.
pub fn running_instances() -> Vec<(String, PathBuf)> {
    let Ok(entries) = std::fs::read_dir(socket_dir()) else {
        return Vec::new();
    };
    let mut found: Vec<(String, PathBuf)> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "sock"))
        .filter(|p| UnixStream::connect(p).is_ok())
        .filter_map(|p| Some((p.file_stem()?.to_string_lossy().into_owned(), p)))
        .collect();
    found.sort();
    found
}

/// The socket a client command should use: `control` if given, else the
/// instance `name`, else the only running instance, else the default path.
pub fn resolve(control: Option<&Path>, name: Option<&str>) -> Result<PathBuf, String> {
    if let Some(path) = control {
        return Ok(path.to_path_buf());
    }
    if let Some(name) = name {
        check_name(name)?;
        return Ok(path_for(name));
    }
    let running = running_instances();
    match running.as_slice() {
        [] => Ok(path_for(DEFAULT_NAME)),
        [(_, path)] => Ok(path.clone()),
        many => Err(format!(
            "{} instances are running ({}): say which with --name",
            many.len(),
            many.iter()
                .map(|(n, _)| n.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}
/// Longest request accepted, in bytes.
const MAX_REQUEST: usize = 64 * 1024;

/// The listening side.
pub struct Server {
    listener: tokio::net::UnixListener,
}

/// Removes the socket file when the switch stops.
pub struct Cleanup(pub PathBuf);

impl Drop for Cleanup {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

impl Server {
    /// Create the socket at `path` (its directory too), mode 0600.
    pub fn bind(path: &Path) -> io::Result<Server> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        if path.exists() {
            // Refuse to steal a live switch's socket; a stale one is replaced.
            if UnixStream::connect(path).is_ok() {
                return Err(io::Error::new(
                    io::ErrorKind::AddrInUse,
                    "another overcast is serving this socket (use --control)",
                ));
            }
            std::fs::remove_file(path)?;
        }
        let listener = tokio::net::UnixListener::bind(path)?;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
        Ok(Server { listener })
    }

    /// Serve requests forever, answering each with `handle`.
    pub async fn serve(self, handle: impl Fn(Request) -> Response + Send + Sync + 'static) {
        let handle = std::sync::Arc::new(handle);
        loop {
            let (stream, _) = match self.listener.accept().await {
                Ok(s) => s,
                Err(e) => {
                    warn!(error = %e, "control accept failed");
                    continue;
                }
            };
            if !peer_permitted(&stream) {
                tokio::spawn(refuse(stream));
                continue;
            }
            let handle = handle.clone();
            tokio::spawn(async move {
                if let Err(e) = serve_one(stream, &*handle).await {
                    debug!(error = %e, "control connection ended");
                }
            });
        }
    }
}

/// Answer a refused client: take its request line (briefly) so it is not
/// cut off mid-write, then say why, and close.
async fn refuse(stream: tokio::net::UnixStream) {
    let (r, mut w) = stream.into_split();
    let mut line = String::new();
    let mut reader = tokio::io::BufReader::new(r.take(MAX_REQUEST as u64));
    let _ = tokio::time::timeout(
        std::time::Duration::from_secs(1),
        reader.read_line(&mut line),
    )
    .await;
    let _ = w
        .write_all(encode(&Response::err("permission denied")).as_bytes())
        .await;
}

fn peer_permitted(stream: &tokio::net::UnixStream) -> bool {
    let Ok(cred) = stream.peer_cred() else {
        return false;
    };
    // SAFETY: geteuid has no preconditions.
    let me = unsafe { libc::geteuid() };
    cred.uid() == 0 || cred.uid() == me
}

async fn serve_one(
    stream: tokio::net::UnixStream,
    handle: &(dyn Fn(Request) -> Response + Sync),
) -> io::Result<()> {
    let (r, mut w) = stream.into_split();
    let mut lines = tokio::io::BufReader::new(r).lines();
    while let Some(line) = lines.next_line().await? {
        let reply = if line.len() > MAX_REQUEST {
            Response::err("request too long")
        } else {
            match serde_json::from_str::<Request>(&line) {
                Ok(req) => handle(req),
                Err(e) => Response::err(format!("bad request: {e}")),
            }
        };
        w.write_all(encode(&reply).as_bytes()).await?;
    }
    Ok(())
}

fn encode(reply: &Response) -> String {
    let mut s = serde_json::to_string(reply)
        .unwrap_or_else(|_| r#"{"ok":false,"error":"cannot encode reply"}"#.to_string());
    s.push('\n');
    s
}

/// Errors of the client side.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// Could not reach the socket.
    #[error("cannot connect to {path}: {source} (is overcast running? see --control)")]
    Connect {
        /// Socket path.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
    /// The exchange failed.
    #[error("control socket: {0}")]
    Io(#[from] io::Error),
    /// The reply was not understood.
    #[error("bad reply: {0}")]
    Decode(#[from] serde_json::Error),
    /// The switch refused the request.
    #[error("{0}")]
    Refused(String),
}

/// Send one request and wait for its reply (blocking; for the CLI).
pub fn request(path: &Path, req: &Request) -> Result<serde_json::Value, ClientError> {
    let mut stream = UnixStream::connect(path).map_err(|source| ClientError::Connect {
        path: path.to_path_buf(),
        source,
    })?;
    let mut line = serde_json::to_string(req)?;
    line.push('\n');
    // A refusing switch may answer and close before reading the request: a
    // failed write is not the end, the refusal is still there to read.
    let written = stream.write_all(line.as_bytes());
    let mut reply = String::new();
    BufReader::new(stream).read_line(&mut reply)?;
    if reply.is_empty() {
        written?;
    }
    let resp: Response = serde_json::from_str(&reply)?;
    if resp.ok {
        Ok(resp.data.unwrap_or(serde_json::Value::Null))
    } else {
        Err(ClientError::Refused(
            resp.error.unwrap_or_else(|| "refused".into()),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_have_a_stable_wire_form() {
        let r = Request::Show { what: "fdb".into() };
        assert_eq!(
            serde_json::to_string(&r).unwrap(),
            r#"{"cmd":"show","what":"fdb"}"#
        );
        let f: Request = serde_json::from_str(r#"{"cmd":"fdb_flush"}"#).unwrap();
        assert_eq!(f, Request::FdbFlush { port: None });
        assert!(serde_json::from_str::<Request>(r#"{"cmd":"reboot"}"#).is_err());
    }
}
