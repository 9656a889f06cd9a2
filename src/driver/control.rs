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

/// Default control socket path.
pub const DEFAULT_PATH: &str = "/run/overcast/control.sock";
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
