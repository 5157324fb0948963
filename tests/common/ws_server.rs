//! A websocket server on 127.0.0.1 that plays an exchange for the supervisor's tests: it answers
//! requests in the exchange's dialect (subscribe acks, pongs), then plays a script per connection
//! (recorded messages, garbage, pings that demand pongs, silence, abrupt or clean closes), and
//! logs what every connection received.
#![allow(clippy::disallowed_methods)] // a test server: its log is timed on the wall clock

use futures_util::{SinkExt, StreamExt};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::handshake::server::{Request, Response};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{Bytes, Message};

/// One thing the server does on a connection, in order, once the client's first request came.
#[derive(Clone, Debug)]
pub enum Step {
    Text(String),
    Binary(Vec<u8>),
    /// Sends a ping; unless a pong comes back within the limit, closes the connection (Binance
    /// drops clients that do not answer pings).
    Ping(Duration),
    Sleep(Duration),
    /// A clean close frame.
    Close,
    /// Drops the TCP connection without a close frame.
    Drop,
}

/// Answers to the client's requests: exchange dialects, and a refusal for the error case.
pub type Dialect = Arc<dyn Fn(&str) -> Vec<String> + Send + Sync>;

/// Binance's reply to every request: `{"result":null,"id":N}`.
pub fn binance_dialect(request: &str) -> Vec<String> {
    let v: serde_json::Value = serde_json::from_str(request).unwrap_or(serde_json::Value::Null);
    vec![format!("{{\"result\":null,\"id\":{}}}", v["id"])]
}

/// Applied to every text message the server sends (e.g. to number Coinbase's messages).
pub type Rewrite = Arc<dyn Fn(String) -> String + Send + Sync>;

#[derive(Debug, Default)]
pub struct ConnLog {
    pub opened: Option<Instant>,
    /// The request path of the websocket handshake (`/ws/v5/public`).
    pub path: String,
    pub requests: Vec<(Instant, String)>,
    pub pongs: usize,
    pub ended: Option<Instant>,
    /// The script ran to its end.
    pub finished: bool,
}

#[derive(Clone)]
pub struct WsServer {
    pub url: String,
    pub log: Arc<Mutex<Vec<ConnLog>>>,
}

impl WsServer {
    /// Starts the server; connection i plays `scripts[i]` (later connections stay silent).
    pub async fn start(
        dialect: impl Fn(&str) -> Vec<String> + Send + Sync + 'static,
        scripts: Vec<Vec<Step>>,
    ) -> Self {
        Self::start_with(dialect, scripts, Arc::new(|text| text)).await
    }

    /// `start`, passing every text message the server sends through `rewrite`.
    pub async fn start_with(
        dialect: impl Fn(&str) -> Vec<String> + Send + Sync + 'static,
        scripts: Vec<Vec<Step>>,
        rewrite: Rewrite,
    ) -> Self {
        let dialect: Dialect = Arc::new(dialect);
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("ws://{}", listener.local_addr().unwrap());
        let log: Arc<Mutex<Vec<ConnLog>>> = Arc::default();
        let server = Self {
            url,
            log: log.clone(),
        };
        tokio::spawn(async move {
            let mut index = 0;
            while let Ok((tcp, _)) = listener.accept().await {
                let script = scripts.get(index).cloned().unwrap_or_default();
                log.lock().unwrap().push(ConnLog {
                    opened: Some(Instant::now()),
                    ..ConnLog::default()
                });
                let (dialect, rewrite) = (dialect.clone(), rewrite.clone());
                tokio::spawn(serve(tcp, index, script, dialect, rewrite, log.clone()));
                index += 1;
            }
        });
        server
    }

    pub fn connections(&self) -> usize {
        self.log.lock().unwrap().len()
    }

    pub fn with_log<T>(&self, f: impl FnOnce(&[ConnLog]) -> T) -> T {
        f(&self.log.lock().unwrap())
    }
}

async fn serve(
    tcp: tokio::net::TcpStream,
    index: usize,
    script: Vec<Step>,
    dialect: Dialect,
    rewrite: Rewrite,
    log: Arc<Mutex<Vec<ConnLog>>>,
) {
    let config = WebSocketConfig::default()
        .max_message_size(None)
        .max_frame_size(None);
    let path_log = log.clone();
    // The callback's error type is tungstenite's; its size is not ours to choose.
    #[allow(clippy::result_large_err)]
    let record_path = move |req: &Request, resp: Response| {
        path_log.lock().unwrap()[index].path = req.uri().path().to_string();
        Ok(resp)
    };
    let accepted = tokio_tungstenite::accept_hdr_async_with_config(tcp, record_path, Some(config));
    let Ok(ws) = accepted.await else {
        return;
    };
    let (mut sink, mut stream) = ws.split();
    let (out_tx, mut out_rx) = mpsc::unbounded_channel::<Message>();
    let (first_tx, mut first_rx) = mpsc::channel::<()>(1);
    let (pong_tx, mut pong_rx) = mpsc::unbounded_channel::<()>();
    let reader_log = log.clone();
    let reply_rewrite = rewrite.clone();
    let replies = out_tx.clone();
    // Reader: logs requests, answers them in the dialect, notes pongs.
    let reader = tokio::spawn(async move {
        while let Some(Ok(msg)) = stream.next().await {
            match msg {
                Message::Text(t) => {
                    reader_log.lock().unwrap()[index]
                        .requests
                        .push((Instant::now(), t.to_string()));
                    for reply in (dialect)(t.as_str()) {
                        let _ = replies.send(Message::text((reply_rewrite)(reply)));
                    }
                    let _ = first_tx.try_send(());
                }
                Message::Pong(_) => {
                    reader_log.lock().unwrap()[index].pongs += 1;
                    let _ = pong_tx.send(());
                }
                _ => {}
            }
        }
    });
    drop(out_tx);
    let _ = tokio::time::timeout(Duration::from_secs(10), first_rx.recv()).await;
    let finished = play(&mut sink, script, &rewrite, &mut out_rx, &mut pong_rx).await;
    log.lock().unwrap()[index].finished = finished;
    if finished {
        // A silent server: it still answers requests (pongs to keepalives) until the client
        // leaves, so a watchdog sees only what the exchange would send.
        while let Some(m) = out_rx.recv().await {
            if sink.send(m).await.is_err() {
                break;
            }
        }
    }
    // The socket closes only when both halves are gone: an abrupt drop must take the reader too.
    reader.abort();
    let _ = reader.await;
    drop(sink);
    log.lock().unwrap()[index].ended = Some(Instant::now());
}

type Sink = futures_util::stream::SplitSink<
    tokio_tungstenite::WebSocketStream<tokio::net::TcpStream>,
    Message,
>;

/// Plays the script; true when it ran to its end with the connection still open.
async fn play(
    sink: &mut Sink,
    script: Vec<Step>,
    rewrite: &Rewrite,
    replies: &mut mpsc::UnboundedReceiver<Message>,
    pongs: &mut mpsc::UnboundedReceiver<()>,
) -> bool {
    for step in script {
        // Replies go out as soon as they are due, between script steps.
        while let Ok(m) = replies.try_recv() {
            if sink.send(m).await.is_err() {
                return false;
            }
        }
        let sent = match step {
            // Rewritten when sent, so numbering follows the order on the wire.
            Step::Text(t) => sink.send(Message::text((rewrite)(t))).await,
            Step::Binary(b) => sink.send(Message::Binary(Bytes::from(b))).await,
            Step::Sleep(d) => {
                let until = tokio::time::Instant::now() + d;
                loop {
                    tokio::select! {
                        Some(m) = replies.recv() => { let _ = sink.send(m).await; }
                        _ = tokio::time::sleep_until(until) => break,
                    }
                }
                Ok(())
            }
            Step::Ping(limit) => {
                let _ = sink.send(Message::Ping(Bytes::from_static(b"hb"))).await;
                match tokio::time::timeout(limit, pongs.recv()).await {
                    Ok(Some(())) => Ok(()),
                    _ => return false,
                }
            }
            Step::Close => {
                let _ = sink.close().await;
                return false;
            }
            Step::Drop => return false,
        };
        if sent.is_err() {
            return false;
        }
    }
    true
}
