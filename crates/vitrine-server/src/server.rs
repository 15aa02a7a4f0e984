//! Serving: from a prepared [`App`] (see [`vitrine_app::prepare`]) to listening sockets, with
//! graceful shutdown.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use axum::Router;
use axum::body::{Body, HttpBody as _};
use axum::extract::ConnectInfo;
use axum::http::Request;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch};
use tower::Service as _;

use vitrine_app::App;

mod handoff;

use handoff::{Answered, Sniffing, Turns};

/// Listening sockets, bound and ready to serve.
#[derive(Debug)]
pub struct Bound {
    state: App,
    main: TcpListener,
    public: Option<TcpListener>,
}

impl Bound {
    /// Binds `listen` (and `public_listen`) from the state's configuration, or `main` if
    /// given (tests and the demo pass a port-0 address).
    pub async fn bind(state: App, main: Option<SocketAddr>) -> anyhow::Result<Self> {
        let address = main.unwrap_or(state.config.listen);
        let main = TcpListener::bind(address)
            .await
            .with_context(|| format!("cannot listen on {address}"))?;
        Self::with_listener(state, main).await
    }

    /// Uses an already bound owner listener (the demo binds first to learn its port), and
    /// binds `public_listen` if configured.
    pub async fn with_listener(state: App, main: TcpListener) -> anyhow::Result<Self> {
        let public = match state.config.public_listen {
            Some(address) => Some(
                TcpListener::bind(address)
                    .await
                    .with_context(|| format!("cannot listen on {address} (public_listen)"))?,
            ),
            None => None,
        };
        Ok(Self {
            state,
            main,
            public,
        })
    }

    /// The state being served.
    pub fn state(&self) -> &App {
        &self.state
    }

    /// The owner address actually bound.
    pub fn local_addr(&self) -> SocketAddr {
        self.main
            .local_addr()
            .expect("a bound listener has an address")
    }

    /// The public address actually bound, if any.
    pub fn public_addr(&self) -> Option<SocketAddr> {
        self.public.as_ref().and_then(|l| l.local_addr().ok())
    }

    /// Serves until `shutdown` completes, then lets open requests finish.
    pub async fn serve(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let owner = crate::routes::owner_router(self.state.clone());
        let head_within = Duration::from_secs(self.state.config.limits.header_read_seconds.into());
        let main = serve_http1(self.main, owner, head_within, stopped.clone());
        let public = self.public.map(|listener| {
            let app = crate::routes::public_router(self.state.clone());
            serve_http1(listener, app, head_within, stopped.clone())
        });
        // Prepare the static assets (web fonts, compressed stylesheets) before the first page
        // needs them, off the async threads.
        tokio::task::spawn_blocking(crate::assets::assets);
        // Other instances' link changes reach this instance's live streams.
        let feed = tokio::spawn(self.state.live.clone().run_feed(self.state.store.clone()));
        // The access log, old attempts and expired sessions are pruned while we serve.
        let pruner =
            vitrine_app::retention::spawn(self.state.clone(), vitrine_app::retention::PRUNE_EVERY);
        // Outgoing mail is sent (and retried) while we serve.
        let drainer = vitrine_app::mail::spawn(self.state.clone(), vitrine_app::mail::POLL_EVERY);
        // Scheduled reports are claimed, rendered and delivered while we serve.
        let scheduler =
            vitrine_app::reports::spawn(self.state.clone(), vitrine_app::reports::POLL_EVERY);
        let live = self.state.live.clone();
        tokio::spawn(async move {
            shutdown.await;
            // Open live streams end first, or graceful shutdown would wait for them forever.
            live.shut_down();
            let _ = stop.send(true);
        });
        match public {
            Some(public) => {
                tokio::join!(main, public);
            }
            None => main.await,
        }
        feed.abort();
        drop(pruner);
        drop(drainer);
        drop(scheduler);
        // Page views answered before the stop are in the access log before the store closes.
        self.state.access_log.flush().await;
        self.state.store.close().await;
        Ok(())
    }
}

/// Serves `router` over HTTP/1.1 on `listener` until `stop` turns true, then stops accepting
/// and waits for the open connections to finish their requests (idle ones close at once).
///
/// This is `axum::serve` without its protocol detection: that reads the first bytes of every
/// connection into a buffer of its own and hands them back to hyper ahead of the socket, and
/// hyper's read buffer, asked for room after that short first read, doubles to 16 KiB — kept
/// for the connection's life, which for a live viewer is the whole visit. Served as HTTP/1.1
/// from the first byte (the only protocol Vitrine speaks), a connection keeps one 8 KiB read
/// buffer. A request's head must arrive within `head_within` (`limits.header_read_seconds`),
/// or the connection is closed; every request carries the peer's address as
/// `ConnectInfo<SocketAddr>`, as before.
///
/// A connection whose next request opens a live stream leaves hyper, buffers and all, and the
/// stream is written by [`handoff`]; shutting down waits for those streams too (the live hub
/// ends them first).
async fn serve_http1(
    listener: TcpListener,
    router: Router,
    head_within: Duration,
    mut stop: watch::Receiver<bool>,
) {
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(head_within);
    let connections = GracefulShutdown::new();
    // Every connection task holds a sender: when all are gone, so are the live streams that
    // left hyper (see `handoff`).
    let (alive, mut all_gone) = mpsc::channel::<()>(1);
    let stop_streams = stop.clone();
    let stopped = async move {
        let _ = stop.wait_for(|stop| *stop).await;
    };
    tokio::pin!(stopped);
    loop {
        let (socket, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    accept_failed(&error).await;
                    continue;
                }
            },
            () = &mut stopped => break,
        };
        // Events and small responses go out as they are written.
        let _ = socket.set_nodelay(true);
        let turns = Arc::new(Turns::default());
        let service = {
            let (router, turns) = (router.clone(), turns.clone());
            hyper::service::service_fn(move |mut request: Request<Incoming>| {
                request.extensions_mut().insert(ConnectInfo(peer));
                turns.start(request.body().is_end_stream());
                let response = router.clone().call(request.map(Body::new));
                let turns = turns.clone();
                async move {
                    let response = response.await?;
                    Ok::<_, Infallible>(response.map(|body| Answered::new(body, turns)))
                }
            })
        };
        let io = TokioIo::new(Sniffing::new(socket, peer, turns.clone()));
        let connection = connections.watch(http.serve_connection(io, service));
        let (router, stop, alive) = (router.clone(), stop_streams.clone(), alive.clone());
        tokio::spawn(async move {
            let _alive = alive;
            if let Err(error) = connection.await {
                tracing::debug!(%error, "connection ended with an error");
                return;
            }
            // Hyper let go of a connection whose next request opens a live stream.
            if let Some((socket, request)) = turns.taken() {
                if *stop.borrow() {
                    return;
                }
                if let Err(error) = handoff::serve_stream(socket, request, router).await {
                    tracing::debug!(%error, "live stream ended with an error");
                }
            }
        });
    }
    drop(listener);
    connections.shutdown().await;
    drop(alive);
    let _ = all_gone.recv().await;
}

/// After a failed `accept`: a connection that went away before it was accepted is nothing;
/// anything else (out of file descriptors, of memory) is logged and the loop pauses for a
/// second instead of spinning.
async fn accept_failed(error: &std::io::Error) {
    use std::io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    if matches!(
        error.kind(),
        ConnectionAborted | ConnectionRefused | ConnectionReset
    ) {
        return;
    }
    tracing::error!(%error, "cannot accept a connection; retrying in a second");
    tokio::time::sleep(Duration::from_secs(1)).await;
}

/// Completes on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down");
}
