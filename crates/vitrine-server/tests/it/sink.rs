//! A small SMTP server for tests: lettre talks real SMTP to it over TCP (EHLO, MAIL, RCPT,
//! DATA, RSET, NOOP, QUIT), and it keeps each accepted message's raw bytes for a MIME parser.
//! It can be told to refuse: the next N transactions answer `451` to `DATA` (a transient
//! failure), or every `RCPT` answers `550` (a permanent one).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _, BufReader};
use tokio::net::TcpListener;
use tokio::sync::{Mutex, Notify};

/// One accepted message.
#[derive(Debug, Clone)]
pub struct Received {
    pub from: String,
    pub to: Vec<String>,
    pub data: Vec<u8>,
}

impl Received {
    /// The parsed MIME message.
    pub fn parsed(&self) -> mail_parser::Message<'_> {
        mail_parser::MessageParser::default()
            .parse(&self.data)
            .expect("a MIME message")
    }
}

#[derive(Default)]
struct Shared {
    messages: Mutex<Vec<Received>>,
    arrived: Notify,
    refuse_data: AtomicUsize,
    refuse_rcpt: AtomicBool,
    transactions: AtomicUsize,
}

/// The sink; stops accepting connections when dropped.
pub struct SmtpSink {
    pub port: u16,
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl SmtpSink {
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        Self::on(listener)
    }

    /// A sink on an already-bound listener (to bring one back on the port of a stopped one).
    pub fn on(listener: TcpListener) -> Self {
        let port = listener.local_addr().unwrap().port();
        let shared = Arc::new(Shared::default());
        let serving = shared.clone();
        let task = tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                let shared = serving.clone();
                tokio::spawn(async move {
                    let _ = session(socket, shared).await;
                });
            }
        });
        Self { port, shared, task }
    }

    /// `smtp://127.0.0.1:{port}` (plain SMTP, no TLS).
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// The next `n` transactions are refused at `DATA` with `451`.
    pub fn refuse_next(&self, n: usize) {
        self.shared.refuse_data.store(n, Ordering::SeqCst);
    }

    /// Every recipient is refused with `550` (a permanent failure).
    pub fn refuse_recipients(&self) {
        self.shared.refuse_rcpt.store(true, Ordering::SeqCst);
    }

    /// Transactions begun (`MAIL FROM`), accepted or not.
    pub fn transactions(&self) -> usize {
        self.shared.transactions.load(Ordering::SeqCst)
    }

    pub async fn messages(&self) -> Vec<Received> {
        self.shared.messages.lock().await.clone()
    }

    /// Waits (at most 10 s) until at least `n` messages arrived; all of them.
    pub async fn wait_for(&self, n: usize) -> Vec<Received> {
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            let notified = self.shared.arrived.notified();
            {
                let messages = self.shared.messages.lock().await;
                if messages.len() >= n {
                    return messages.clone();
                }
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                panic!("the sink did not receive {n} messages in time");
            }
        }
    }
}

async fn session(socket: tokio::net::TcpStream, shared: Arc<Shared>) -> std::io::Result<()> {
    let (read, mut write) = socket.into_split();
    let mut lines = BufReader::new(read);
    write.write_all(b"220 sink.test ESMTP ready\r\n").await?;
    let mut from = String::new();
    let mut to = Vec::new();
    let mut line = String::new();
    loop {
        line.clear();
        if lines.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let command = line.trim_end().to_owned();
        let upper = command.to_ascii_uppercase();
        if upper.starts_with("EHLO") {
            write
                .write_all(b"250-sink.test\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n")
                .await?;
        } else if upper.starts_with("HELO") {
            write.write_all(b"250 sink.test\r\n").await?;
        } else if upper.starts_with("MAIL FROM:") {
            shared.transactions.fetch_add(1, Ordering::SeqCst);
            from = command[10..].trim().to_owned();
            to.clear();
            write.write_all(b"250 2.1.0 OK\r\n").await?;
        } else if upper.starts_with("RCPT TO:") {
            if shared.refuse_rcpt.load(Ordering::SeqCst) {
                write.write_all(b"550 5.1.1 no such user here\r\n").await?;
            } else {
                to.push(command[8..].trim().to_owned());
                write.write_all(b"250 2.1.5 OK\r\n").await?;
            }
        } else if upper == "DATA" {
            let refuse = shared
                .refuse_data
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                .is_ok();
            if refuse {
                write.write_all(b"451 4.3.0 try again later\r\n").await?;
                continue;
            }
            write
                .write_all(b"354 end data with <CR><LF>.<CR><LF>\r\n")
                .await?;
            let mut data = Vec::new();
            loop {
                let mut raw = Vec::new();
                if lines.read_until(b'\n', &mut raw).await? == 0 {
                    return Ok(());
                }
                if raw == b".\r\n" {
                    break;
                }
                // Dot-unstuffing.
                let raw = if raw.starts_with(b"..") {
                    &raw[1..]
                } else {
                    &raw[..]
                };
                data.extend_from_slice(raw);
            }
            let n = {
                let mut messages = shared.messages.lock().await;
                messages.push(Received {
                    from: from.clone(),
                    to: to.clone(),
                    data,
                });
                messages.len()
            };
            shared.arrived.notify_waiters();
            write
                .write_all(format!("250 2.0.0 OK queued as sink-{n}\r\n").as_bytes())
                .await?;
        } else if upper == "RSET" || upper == "NOOP" {
            write.write_all(b"250 2.0.0 OK\r\n").await?;
        } else if upper == "QUIT" {
            write.write_all(b"221 2.0.0 bye\r\n").await?;
            return Ok(());
        } else {
            write.write_all(b"502 5.5.2 not implemented\r\n").await?;
        }
    }
}
