//! The live switch's metrics endpoint: `GET /metrics` over HTTP/1.1, served by axum.
//!
//! A scrape takes the core's lock once, copies the counters into a
//! [`Sample`], and renders it with no lock held, so a scrape costs the
//! switching tasks one short wait at most.

use super::{lock, Driver, StartError};
use crate::metrics::{MetricsAddr, CONTENT_TYPE};
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use tracing::{info, warn};

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

/// Serve `GET /metrics` from `driver`'s node until the switch stops.
pub(super) fn serve(endpoint: Endpoint, driver: Arc<Driver>) -> Result<(), StartError> {
    let addr = endpoint.addr;
    let listener = tokio::net::TcpListener::from_std(endpoint.listener)
        .map_err(|source| StartError::Metrics { addr, source })?;
    let app = Router::new()
        .route("/metrics", get(scrape))
        .with_state(driver);
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            warn!(error = %e, "metrics endpoint stopped");
        }
    });
    info!("metrics at http://{addr}/metrics");
    Ok(())
}

async fn scrape(State(driver): State<Arc<Driver>>) -> Response {
    let now = driver.clock.now();
    // Counters and table sizes are copied under the lock; rendering is not.
    let sample = lock(&driver.node).metrics_sample(now);
    match sample.render() {
        Ok(body) => ([(header::CONTENT_TYPE, CONTENT_TYPE)], body).into_response(),
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}
