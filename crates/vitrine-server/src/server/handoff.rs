//! Live streams leave hyper: a connection whose next request opens a live stream is taken back
//! from hyper and the stream is written by [`serve_stream`], which keeps no buffers between
//! events.
//!
//! A viewer's stream stays open for the whole visit, and hyper keeps an 8 KiB read buffer and
//! an 8 KiB write buffer for every connection it serves, whatever it is doing: 16 KiB per
//! viewer before the stream itself holds anything. Here the connection's socket is wrapped in
//! [`Sniffing`], which looks at what hyper reads at the start of each request. When the bytes
//! read are exactly one complete `GET …/live` head, and the connection is between requests
//! (every request so far had no body and has been answered, the bytes read before ended a
//! request head, and nothing hyper wrote is still waiting for the socket), the wrapper keeps
//! the socket and the request those bytes make in the connection's
//! [`Turns`] and tells hyper the client closed. Hyper, idle, ends the connection cleanly;
//! the caller then gives the socket and request to [`serve_stream`], which asks the same router
//! for the response and writes it (`Connection: close`, chunked) straight to the socket. A
//! viewer that sends anything more, or does not take a write within [`WRITE_WITHIN`], is no
//! longer served.
//!
//! Anything else — a head split over several reads, a pipelined request, a connection that
//! carried a request body (whose unread remainder hyper may still drain), an `Expect` or
//! `Upgrade` header, HTTP/1.0 — stays with hyper, which serves live streams exactly as before.
//! The request goes through every layer of the router either way.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use axum::Router;
use axum::body::{Body, HttpBody};
use axum::extract::ConnectInfo;
use axum::http::{self, HeaderName, HeaderValue, Method, Request, Response, Version, header};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt as _, ReadBuf};
use tokio::net::TcpStream;
use tower::ServiceExt as _;

/// The most headers a live request may carry and still leave hyper (hyper's own limit).
const MAX_HEADERS: usize = 100;

/// A viewer that takes longer than this to accept one write (an event, a keep-alive comment)
/// has stopped reading: its stream ends, freeing the stream's place and memory. Hyper has no
/// such limit; a stream that stays open also holds graceful shutdown open.
pub(super) const WRITE_WITHIN: std::time::Duration = std::time::Duration::from_secs(60);

/// What a connection's reader and its service share: how many requests have started and been
/// answered, whether any carried a body, and the socket once a live stream has taken it.
#[derive(Debug, Default)]
pub(super) struct Turns {
    started: AtomicU64,
    answered: AtomicU64,
    had_body: AtomicBool,
    taken: Mutex<Option<(TcpStream, Request<Body>)>>,
}

impl Turns {
    /// A request has reached the service; `bodiless` when hyper knows it has no body.
    pub(super) fn start(&self, bodiless: bool) {
        if !bodiless {
            self.had_body.store(true, Ordering::Relaxed);
        }
        self.started.fetch_add(1, Ordering::Relaxed);
    }

    /// Whether the connection is between requests, and every request it carried had no body.
    fn between_requests(&self) -> bool {
        !self.had_body.load(Ordering::Relaxed)
            && self.started.load(Ordering::Relaxed) == self.answered.load(Ordering::Relaxed)
    }

    /// The socket and the live request, if [`Sniffing`] took them from hyper.
    pub(super) fn taken(&self) -> Option<(TcpStream, Request<Body>)> {
        self.taken
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take()
    }
}

/// A response body that counts its response as answered when hyper is done with it (hyper
/// drops a body after writing its end, or when the connection goes).
#[derive(Debug)]
pub(super) struct Answered {
    body: Body,
    turns: Arc<Turns>,
}

impl Answered {
    pub(super) fn new(body: Body, turns: Arc<Turns>) -> Self {
        Self { body, turns }
    }
}

impl Drop for Answered {
    fn drop(&mut self) {
        self.turns.answered.fetch_add(1, Ordering::Relaxed);
    }
}

impl HttpBody for Answered {
    type Data = <Body as HttpBody>::Data;
    type Error = <Body as HttpBody>::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<hyper::body::Frame<Self::Data>, Self::Error>>> {
        Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        self.body.size_hint()
    }
}

/// The socket as hyper sees it; see the module documentation.
#[derive(Debug)]
pub(super) struct Sniffing {
    socket: Option<TcpStream>,
    /// The peer's address, for the request a live head makes.
    peer: SocketAddr,
    turns: Arc<Turns>,
    /// The last write hyper attempted did not complete: it still holds bytes to send.
    blocked: bool,
    /// Nothing has been read yet, or the last bytes read ended a request head (`\r\n\r\n`):
    /// hyper holds no part of a request it is still reading.
    at_boundary: bool,
}

impl Sniffing {
    pub(super) fn new(socket: TcpStream, peer: SocketAddr, turns: Arc<Turns>) -> Self {
        Self {
            socket: Some(socket),
            peer,
            turns,
            blocked: false,
            at_boundary: true,
        }
    }

    fn socket(&mut self) -> io::Result<&mut TcpStream> {
        self.socket
            .as_mut()
            .ok_or_else(|| io::Error::from(io::ErrorKind::BrokenPipe))
    }

    fn note_write<T>(&mut self, poll: Poll<io::Result<T>>) -> Poll<io::Result<T>> {
        self.blocked = poll.is_pending();
        poll
    }
}

impl AsyncRead for Sniffing {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        let Some(socket) = this.socket.as_mut() else {
            return Poll::Ready(Ok(()));
        };
        let before = buf.filled().len();
        std::task::ready!(Pin::new(socket).poll_read(cx, buf))?;
        let read = &buf.filled()[before..];
        if read.is_empty() {
            return Poll::Ready(Ok(()));
        }
        let at_boundary = std::mem::replace(&mut this.at_boundary, read.ends_with(b"\r\n\r\n"));
        if !at_boundary || this.blocked || !this.turns.between_requests() {
            return Poll::Ready(Ok(()));
        }
        if let Some(request) = live_request(read, this.peer) {
            buf.set_filled(before);
            let socket = this.socket.take().expect("checked above");
            *this
                .turns
                .taken
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner) = Some((socket, request));
        }
        Poll::Ready(Ok(()))
    }
}

impl AsyncWrite for Sniffing {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bytes: &[u8],
    ) -> Poll<io::Result<usize>> {
        let poll = Pin::new(self.socket()?).poll_write(cx, bytes);
        self.note_write(poll)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let poll = Pin::new(self.socket()?).poll_write_vectored(cx, bufs);
        self.note_write(poll)
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.socket.as_mut() {
            Some(socket) => {
                let poll = Pin::new(socket).poll_flush(cx);
                self.note_write(poll)
            }
            None => Poll::Ready(Ok(())),
        }
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        // Once the socket is taken, hyper's clean end must not close it.
        match self.socket.as_mut() {
            Some(socket) => Pin::new(socket).poll_shutdown(cx),
            None => Poll::Ready(Ok(())),
        }
    }
}

/// The request `bytes` make, as the router takes requests from hyper (with the peer's
/// address), if they are exactly one complete HTTP/1.1 request head that opens a live stream:
/// `GET`, a path ending in `/live`, no body, no `Expect` or `Upgrade`, headers hyper would
/// accept. Anything else is hyper's.
fn live_request(bytes: &[u8], peer: SocketAddr) -> Option<Request<Body>> {
    // Every other request is settled by its request line, without parsing its headers.
    let target = bytes.strip_prefix(b"GET ")?.split(|&b| b == b' ').next()?;
    let path = target.split(|&b| b == b'?').next().unwrap_or_default();
    if !bytes.ends_with(b"\r\n\r\n")
        || !std::str::from_utf8(path).is_ok_and(crate::routes::is_live_stream_path)
    {
        return None;
    }
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut head = httparse::Request::new(&mut headers);
    match head.parse(bytes) {
        Ok(httparse::Status::Complete(length)) if length == bytes.len() => {}
        _ => return None,
    }
    let target = head.path.filter(|target| target.starts_with('/'))?;
    if head.version != Some(1) {
        return None;
    }
    let mut request = Request::builder()
        .method(Method::GET)
        .uri(target)
        .version(Version::HTTP_11);
    for h in head.headers.iter() {
        let name = h.name;
        let bodiless = if name.eq_ignore_ascii_case("content-length") {
            h.value == b"0"
        } else {
            !(name.eq_ignore_ascii_case("transfer-encoding")
                || name.eq_ignore_ascii_case("expect")
                || name.eq_ignore_ascii_case("upgrade"))
        };
        if !bodiless {
            return None;
        }
        request = request.header(
            HeaderName::from_bytes(name.as_bytes()).ok()?,
            HeaderValue::from_bytes(h.value).ok()?,
        );
    }
    // The builder refuses a target that is not a URI.
    let mut request = request.body(Body::empty()).ok()?;
    request.extensions_mut().insert(ConnectInfo(peer));
    Some(request)
}

/// Serves the live `request` read from `socket`: the router's response is written with
/// `Connection: close` (chunked unless its length is known), each event as it comes, until
/// the stream ends or the viewer goes.
pub(super) async fn serve_stream(
    mut socket: TcpStream,
    request: Request<Body>,
    router: Router,
) -> io::Result<()> {
    let response = match router.oneshot(request).await {
        Ok(response) => response,
        Err(never) => match never {},
    };
    write_response(&mut socket, response, WRITE_WITHIN).await?;
    socket.shutdown().await
}

/// Writes `response` to `socket`; each write must be taken within `within`.
async fn write_response(
    socket: &mut TcpStream,
    response: Response<Body>,
    within: std::time::Duration,
) -> io::Result<()> {
    let (parts, mut body) = response.into_parts();
    let status = parts.status;
    if status.is_informational()
        || status == http::StatusCode::NO_CONTENT
        || status == http::StatusCode::NOT_MODIFIED
    {
        // No body, and no framing for one (RFC 9112 §6.1, §6.3).
        return write_within(socket, within, &response_head(&parts, Framing::None)).await;
    }
    let mut left = body.size_hint().exact();
    let framing = left.map_or(Framing::Chunked, Framing::Length);
    write_within(socket, within, &response_head(&parts, framing)).await?;
    loop {
        let next = tokio::select! {
            frame = std::future::poll_fn(|cx| Pin::new(&mut body).poll_frame(cx)) => frame,
            () = peer_gone(socket) => return Ok(()),
        };
        let data = match next {
            None => break,
            Some(Ok(frame)) => match frame.into_data() {
                Ok(data) if !data.is_empty() => data,
                // Trailers are not sent; an empty chunk would end the body.
                _ => continue,
            },
            Some(Err(error)) => {
                tracing::debug!(%error, "a live stream's body failed");
                return Ok(());
            }
        };
        if let Some(left) = left.as_mut() {
            // Never more than the length announced.
            let take = data.len().min(usize::try_from(*left).unwrap_or(usize::MAX));
            write_within(socket, within, &data[..take]).await?;
            *left -= take as u64;
            if *left == 0 {
                return Ok(());
            }
        } else {
            let mut chunk = Vec::with_capacity(data.len() + 12);
            chunk.extend_from_slice(format!("{:x}\r\n", data.len()).as_bytes());
            chunk.extend_from_slice(&data);
            chunk.extend_from_slice(b"\r\n");
            write_within(socket, within, &chunk).await?;
        }
    }
    match framing {
        Framing::Chunked => write_within(socket, within, b"0\r\n\r\n").await,
        // A body shorter than it said: the close tells the client it was cut short.
        Framing::Length(_) | Framing::None => Ok(()),
    }
}

/// Writes `bytes`, or fails if the viewer does not take them `within` that time.
async fn write_within(
    socket: &mut TcpStream,
    within: std::time::Duration,
    bytes: &[u8],
) -> io::Result<()> {
    tokio::time::timeout(within, socket.write_all(bytes))
        .await
        .unwrap_or_else(|_| Err(io::ErrorKind::TimedOut.into()))
}

/// How a response's body is delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Framing {
    /// No body (1xx, 204, 304).
    None,
    /// `Content-Length`.
    Length(u64),
    /// `Transfer-Encoding: chunked`.
    Chunked,
}

/// The status line and headers of `parts`, with `Date`, `Connection: close` and the body's
/// `framing`.
fn response_head(parts: &http::response::Parts, framing: Framing) -> Vec<u8> {
    let mut head = Vec::with_capacity(512);
    head.extend_from_slice(b"HTTP/1.1 ");
    head.extend_from_slice(parts.status.as_str().as_bytes());
    head.push(b' ');
    head.extend_from_slice(parts.status.canonical_reason().unwrap_or("").as_bytes());
    head.extend_from_slice(b"\r\n");
    for (name, value) in &parts.headers {
        if [
            header::CONNECTION,
            header::CONTENT_LENGTH,
            header::TRANSFER_ENCODING,
            header::DATE,
        ]
        .contains(name)
        {
            continue;
        }
        head.extend_from_slice(name.as_str().as_bytes());
        head.extend_from_slice(b": ");
        head.extend_from_slice(value.as_bytes());
        head.extend_from_slice(b"\r\n");
    }
    head.extend_from_slice(b"date: ");
    head.extend_from_slice(httpdate::fmt_http_date(std::time::SystemTime::now()).as_bytes());
    head.extend_from_slice(b"\r\nconnection: close\r\n");
    match framing {
        Framing::None => {}
        Framing::Length(length) => {
            head.extend_from_slice(format!("content-length: {length}\r\n").as_bytes());
        }
        Framing::Chunked => head.extend_from_slice(b"transfer-encoding: chunked\r\n"),
    }
    head.extend_from_slice(b"\r\n");
    head
}

/// Completes when the viewer closes the connection, it fails, or the viewer sends anything
/// at all: a stream's response said `Connection: close`, and an `EventSource` never sends
/// more, so bytes here are a client to stop serving rather than input to drain.
async fn peer_gone(socket: &TcpStream) {
    loop {
        if socket.readable().await.is_err() {
            return;
        }
        let mut scratch = [0u8; 1];
        match socket.try_read(&mut scratch) {
            Err(error) if error.kind() == io::ErrorKind::WouldBlock => {}
            Ok(_) | Err(_) => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn peer() -> SocketAddr {
        "192.0.2.7:5000".parse().unwrap()
    }

    fn opens_live_stream(bytes: &[u8]) -> bool {
        live_request(bytes, peer()).is_some()
    }

    #[test]
    fn only_a_whole_bodiless_live_head_leaves_hyper() {
        let live = b"GET /share/abc/live?view=x HTTP/1.1\r\nHost: a\r\nCookie: c=1\r\n\r\n";
        assert!(opens_live_stream(live));
        assert!(opens_live_stream(
            b"GET /dashboards/7/live HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n"
        ));
        for other in [
            // Not a live stream.
            &b"GET /share/abc HTTP/1.1\r\nHost: a\r\n\r\n"[..],
            b"GET /share/abc/live.csv HTTP/1.1\r\nHost: a\r\n\r\n",
            b"HEAD /share/abc/live HTTP/1.1\r\nHost: a\r\n\r\n",
            b"POST /share/abc/live HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nhi",
            // Incomplete, or followed by another request.
            b"GET /share/abc/live HTTP/1.1\r\nHost: a\r\n",
            b"GET /share/abc/live HTTP/1.1\r\nHost: a\r\n\r\nGET / HTTP/1.1\r\n\r\n",
            // A body, or something hyper must handle.
            b"GET /share/abc/live HTTP/1.1\r\nContent-Length: 5\r\n\r\n",
            b"GET /share/abc/live HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n",
            b"GET /share/abc/live HTTP/1.1\r\nExpect: 100-continue\r\n\r\n",
            b"GET /share/abc/live HTTP/1.1\r\nUpgrade: websocket\r\n\r\n",
            b"GET /share/abc/live HTTP/1.0\r\n\r\n",
            // Malformed.
            b"GET /share/abc/live HTTP/1.1\r\nBad Name: x\r\n\r\n",
        ] {
            assert!(
                !opens_live_stream(other),
                "{:?} must stay with hyper",
                String::from_utf8_lossy(other)
            );
        }
    }

    #[test]
    fn the_head_becomes_the_request_the_router_expects() {
        let head = b"GET /share/abc/live?view=x HTTP/1.1\r\nHost: example.test\r\nCookie: a=1\r\nCookie: b=2\r\n\r\n";
        let peer = peer();
        let request = live_request(head, peer).unwrap();
        assert_eq!(request.method(), Method::GET);
        assert_eq!(request.uri().path(), "/share/abc/live");
        assert_eq!(request.uri().query(), Some("view=x"));
        assert_eq!(request.headers()["host"], "example.test");
        assert_eq!(request.headers().get_all("cookie").iter().count(), 2);
        assert_eq!(
            request
                .extensions()
                .get::<ConnectInfo<SocketAddr>>()
                .unwrap()
                .0,
            peer
        );
    }

    /// A connected pair: the server's end wrapped as hyper sees it, and the client's end.
    async fn pair() -> (Sniffing, Arc<Turns>, TcpStream) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (server, _) = listener.accept().await.unwrap();
        let turns = Arc::new(Turns::default());
        (Sniffing::new(server, peer(), turns.clone()), turns, client)
    }

    /// What hyper would get from one read: the bytes, empty at EOF.
    async fn hyper_reads(sniffing: &mut Sniffing) -> Vec<u8> {
        use tokio::io::AsyncReadExt as _;
        let mut buf = vec![0u8; 8192];
        let n = sniffing.read(&mut buf).await.unwrap();
        buf.truncate(n);
        buf
    }

    const LIVE: &[u8] = b"GET /share/abc/live HTTP/1.1\r\nHost: a\r\n\r\n";

    #[tokio::test]
    async fn a_live_head_at_a_boundary_is_taken_with_its_socket() {
        let (mut sniffing, turns, mut client) = pair().await;
        client.write_all(LIVE).await.unwrap();
        assert!(
            hyper_reads(&mut sniffing).await.is_empty(),
            "hyper sees the client close"
        );
        let (_, request) = turns.taken().expect("the socket and the request are kept");
        assert_eq!(request.uri(), "/share/abc/live");
        assert!(
            hyper_reads(&mut sniffing).await.is_empty(),
            "and nothing after"
        );
    }

    #[tokio::test]
    async fn a_live_head_is_not_taken_mid_request_or_mid_head() {
        // While a request is being answered (hyper's keep-alive read).
        let (mut sniffing, turns, mut client) = pair().await;
        turns.start(true);
        client.write_all(LIVE).await.unwrap();
        assert_eq!(hyper_reads(&mut sniffing).await, LIVE);
        assert!(turns.taken().is_none());

        // After a request that had a body.
        let (mut sniffing, turns, mut client) = pair().await;
        turns.start(false);
        drop(Answered::new(Body::empty(), turns.clone()));
        client.write_all(LIVE).await.unwrap();
        assert_eq!(hyper_reads(&mut sniffing).await, LIVE);
        assert!(turns.taken().is_none());

        // The rest of a head whose start hyper already holds.
        let (mut sniffing, turns, mut client) = pair().await;
        client
            .write_all(b"GET /a HTTP/1.1\r\nX-Long: ")
            .await
            .unwrap();
        assert_eq!(
            hyper_reads(&mut sniffing).await,
            b"GET /a HTTP/1.1\r\nX-Long: "
        );
        client.write_all(LIVE).await.unwrap();
        assert_eq!(hyper_reads(&mut sniffing).await, LIVE);
        assert!(turns.taken().is_none());

        // After a bodiless request was answered, the next live head is taken.
        let (mut sniffing, turns, mut client) = pair().await;
        client.write_all(b"GET /a HTTP/1.1\r\n\r\n").await.unwrap();
        assert_eq!(hyper_reads(&mut sniffing).await, b"GET /a HTTP/1.1\r\n\r\n");
        turns.start(true);
        drop(Answered::new(Body::empty(), turns.clone()));
        client.write_all(LIVE).await.unwrap();
        assert!(hyper_reads(&mut sniffing).await.is_empty());
        assert!(turns.taken().is_some());
    }

    #[tokio::test]
    async fn a_viewer_that_stops_reading_is_dropped() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let _client = TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (mut server, _) = listener.accept().await.unwrap();
        // An endless body the client never reads.
        let chunk = axum::body::Bytes::from(vec![b'x'; 64 * 1024]);
        let endless = futures_util::stream::repeat_with(move || {
            Ok::<_, std::convert::Infallible>(chunk.clone())
        });
        let response = Response::new(Body::from_stream(endless));
        let error = tokio::time::timeout(
            std::time::Duration::from_secs(30),
            write_response(&mut server, response, std::time::Duration::from_millis(200)),
        )
        .await
        .expect("the write limit ends the stream")
        .unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::TimedOut);
    }

    #[test]
    fn the_response_head_frames_the_body_and_closes() {
        let response = Response::builder()
            .status(200)
            .header("content-type", "text/event-stream")
            .header("connection", "keep-alive")
            .body(())
            .unwrap();
        let (parts, ()) = response.into_parts();
        let head = String::from_utf8(response_head(&parts, Framing::Chunked)).unwrap();
        assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head}");
        assert!(head.contains("content-type: text/event-stream\r\n"));
        assert!(head.contains("connection: close\r\n"));
        assert!(!head.contains("keep-alive"));
        assert!(head.contains("transfer-encoding: chunked\r\n"));
        assert!(head.ends_with("\r\n\r\n"));
        let head = String::from_utf8(response_head(&parts, Framing::Length(12))).unwrap();
        assert!(head.contains("content-length: 12\r\n"));
        assert!(!head.contains("chunked"));
        let head = String::from_utf8(response_head(&parts, Framing::None)).unwrap();
        assert!(!head.contains("content-length") && !head.contains("chunked"));
    }
}
