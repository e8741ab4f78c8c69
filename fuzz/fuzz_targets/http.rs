//! The HTTP server's request handling: arbitrary bytes from a client, through the server's limits and
//! router on one connection, answered with at most a plain status and never a panic or a stack trace.

#![no_main]

use std::sync::OnceLock;
use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();

fuzz_target!(|data: &[u8]| {
    let runtime = RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap()
    });
    let answer = runtime.block_on(async {
        let state = wiredesk::serve::AppState::empty();
        let limits = wiredesk::serve::Limits {
            max_connections: 4,
            header_timeout: Duration::from_secs(1),
        };
        let (mut client, server) = tokio::io::duplex(1 << 16);
        let served = tokio::spawn(wiredesk::serve::listen::serve_connection(server, state, limits));
        let _ = client.write_all(data).await;
        // End of input: the server answers what it has and closes.
        let _ = client.shutdown().await;
        let mut answer = Vec::new();
        let _ = client.read_to_end(&mut answer).await;
        served.await.expect("the connection task does not panic");
        answer
    });
    let text = String::from_utf8_lossy(&answer);
    assert!(
        !text.contains("panicked") && !text.contains("stack backtrace") && !text.contains("src/"),
        "{text}"
    );
});
