//! The live switch's metrics endpoint: `GET /metrics` over HTTP/1.1, served by axum.
//!
//! axum runs handlers on tokio tasks that must be `Send`, but the [`Node`]
//! lives on one thread behind `Rc`/`RefCell`. The bridge: a handler sends a
//! oneshot reply slot down an `mpsc` channel, and a `spawn_local` task on the
//! switch's thread takes a [`Sample`] from the node (between two batches, as
//! every task does), renders it and replies. Connections run on the same
//! current-thread runtime, so the core is never touched off its thread and
//! needs no lock.

use super::{Node, StartError};
use crate::metrics::{ListenerSample, MetricsAddr, Sample, CONTENT_TYPE};
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use std::net::{SocketAddr, TcpListener};
use std::rc::Rc;
use tokio::sync::{mpsc, oneshot};
use tracing::{info, warn};

/// Scrapes waiting for the switch's thread; more wait in their handlers.
const QUEUE: usize = 16;

/// The bound endpoint, waiting for the node to exist.
pub(super) struct Endpoint {
    listener: TcpListener,
    addr: SocketAddr,
}

/// Bind the endpoint, so a bad address stops the switch before it starts.
pub(super) fn bind(addr: Option<MetricsAddr>) -> Result<Option<Endpoint>, StartError> {
    let Some(MetricsAddr(addr)) = addr else {
        return Ok(None);
    };
    let fail = |source| StartError::Metrics { addr, source };
    let listener = TcpListener::bind(addr).map_err(fail)?;
    listener.set_nonblocking(true).map_err(fail)?;
    Ok(Some(Endpoint { listener, addr }))
}

/// Serve `GET /metrics` from `node` until the switch stops.
pub(super) fn serve(endpoint: Endpoint, node: Rc<Node>) -> Result<(), StartError> {
    let addr = endpoint.addr;
    let listener = tokio::net::TcpListener::from_std(endpoint.listener)
        .map_err(|source| StartError::Metrics { addr, source })?;
    let (tx, mut rx) = mpsc::channel::<oneshot::Sender<Option<String>>>(QUEUE);
    tokio::task::spawn_local(async move {
        while let Some(reply) = rx.recv().await {
            let body = sample(&node).render().ok();
            let _ = reply.send(body);
        }
    });
    let app = Router::new().route("/metrics", get(scrape)).with_state(tx);
    tokio::task::spawn_local(async move {
        if let Err(e) = axum::serve(listener, app).await {
            warn!(error = %e, "metrics endpoint stopped");
        }
    });
    info!("metrics at http://{addr}/metrics");
    Ok(())
}

async fn scrape(State(tx): State<mpsc::Sender<oneshot::Sender<Option<String>>>>) -> Response {
    let (reply, body) = oneshot::channel();
    if tx.send(reply).await.is_err() {
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    }
    match body.await {
        Ok(Some(body)) => ([(header::CONTENT_TYPE, CONTENT_TYPE)], body).into_response(),
        Ok(None) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
        Err(_) => StatusCode::SERVICE_UNAVAILABLE.into_response(),
    }
}

/// The node's counters now: ports, table sizes, queriers, listeners.
fn sample(node: &Node) -> Sample {
    let now = node.clock.now();
    let core = node.core.borrow();
    let snoop = core.snooper().state(now);
    Sample {
        ports: core.port_views(now),
        fdb_entries: core.fdb().len(),
        mdb_groups: snoop.groups.len(),
        queriers: snoop.queriers,
        snoop: snoop.counters,
        listeners: node
            .listeners
            .borrow()
            .iter()
            .flatten()
            .map(|l| {
                let s = l.state.borrow();
                ListenerSample {
                    name: s.name().to_string(),
                    peers: s.peer_count(),
                    counters: s.counters().clone(),
                }
            })
            .collect(),
    }
}
