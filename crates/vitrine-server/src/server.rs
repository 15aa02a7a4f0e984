//! Serving: from a prepared [`App`] (see [`vitrine_app::prepare`]) to listening sockets, with
//! graceful shutdown.

use std::future::Future;
use std::net::SocketAddr;

use anyhow::Context as _;
use tokio::net::TcpListener;

use vitrine_app::App;

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
        let wait = move |mut rx: tokio::sync::watch::Receiver<bool>| async move {
            let _ = rx.wait_for(|stop| *stop).await;
        };
        let owner = crate::routes::owner_router(self.state.clone())
            .into_make_service_with_connect_info::<SocketAddr>();
        let main = axum::serve(self.main, owner).with_graceful_shutdown(wait(stopped.clone()));
        let public = self.public.map(|listener| {
            let app = crate::routes::public_router(self.state.clone())
                .into_make_service_with_connect_info::<SocketAddr>();
            axum::serve(listener, app).with_graceful_shutdown(wait(stopped.clone()))
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
                let (a, b) = tokio::join!(main.into_future(), public.into_future());
                a?;
                b?;
            }
            None => main.await?,
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
