//! The real `wiredesk demo` binary as tests drive it: started on a free port, its stdout read line by line,
//! stopped with SIGTERM.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// One HTTP answer.
pub struct Reply {
    /// The status code.
    pub status: u16,
    /// Header names (lower case) and values.
    pub headers: Vec<(String, String)>,
    /// The body as text.
    pub body: String,
}

impl Reply {
    /// The first value of header `name` (lower case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A running demo.
pub struct Demo {
    child: Child,
    /// `http://127.0.0.1:PORT`, without a trailing slash.
    pub base: String,
    /// Every stdout line so far.
    lines: Arc<Mutex<Vec<String>>>,
}

impl Demo {
    /// Starts `wiredesk demo --listen 127.0.0.1:0` and waits for the line saying where it serves.
    pub fn start() -> Demo {
        let mut child = Command::new(env!("CARGO_BIN_EXE_wiredesk"))
            .args(["demo", "--listen", "127.0.0.1:0"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the wiredesk binary starts");
        let lines = Arc::new(Mutex::new(Vec::new()));
        let stdout = child.stdout.take().unwrap();
        let sink = lines.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                sink.lock().unwrap().push(line);
            }
        });
        // Drained so the demo never blocks on a full stderr pipe; shown when a test fails.
        let stderr = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                eprintln!("demo stderr: {line}");
            }
        });
        let mut demo = Demo {
            child,
            base: String::new(),
            lines,
        };
        let first = demo.wait_for_line(|l| l.starts_with("wiredesk demo: serving on http://"));
        demo.base = first
            .trim_start_matches("wiredesk demo: serving on ")
            .trim_end_matches('/')
            .to_string();
        demo
    }

    /// Waits (up to a minute) for a stdout line that `pred` accepts and returns it.
    pub fn wait_for_line(&mut self, pred: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(l) = self.lines.lock().unwrap().iter().find(|l| pred(l)) {
                return l.clone();
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("the demo exited ({status}); it printed:\n{}", self.stdout());
            }
            assert!(
                Instant::now() < deadline,
                "the demo did not print the expected line within a minute; it printed:\n{}",
                self.stdout()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Waits until the demo has stored its sample feeds and rendered their pages: its commentary has
    /// told the merges and the two broken sources, the status page shows them, and the local section
    /// shows its stories.
    pub fn wait_until_polled(&mut self) {
        self.wait_for_line(|l| l.starts_with("joined: ") && l.contains("Tempest Ingrid"));
        self.wait_for_line(|l| l.starts_with("failed: Coastline Courier"));
        self.wait_for_line(|l| l.starts_with("failed: Valley Post"));
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            // Sections render on the daemon's next tick after the stories land, /status on its own.
            let status = self.get("/status");
            let local = self.get("/sections/local");
            if status.contains("error (parse)")
                && status.contains("error (http-404)")
                && !status.contains("never polled")
                && local.contains("Storm Ingrid")
                // The merges are rendered too, not only the stories' first copies.
                && local.contains("Also reported by")
            {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "the pages never showed the polled demo:\n{status}\n{local}"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Everything the demo printed on stdout so far.
    pub fn stdout(&self) -> String {
        self.lines.lock().unwrap().join("\n")
    }

    /// GET `path` from the demo and return the body (panics unless 200).
    pub fn get(&self, path: &str) -> String {
        let r = self.request(path, &[]);
        assert_eq!(r.status, 200, "GET {path}: {}", r.body);
        r.body
    }

    /// GET `path` with `headers`, over a plain HTTP/1.0 exchange on loopback.
    pub fn request(&self, path: &str, headers: &[(&str, &str)]) -> Reply {
        use std::io::{Read, Write};
        let addr = self.base.trim_start_matches("http://");
        let mut stream = std::net::TcpStream::connect(addr).expect("the demo accepts connections");
        stream
            .set_read_timeout(Some(Duration::from_secs(20)))
            .unwrap();
        let mut request = format!("GET {path} HTTP/1.0\r\nHost: {addr}\r\n");
        for (name, value) in headers {
            request.push_str(&format!("{name}: {value}\r\n"));
        }
        request.push_str("\r\n");
        stream.write_all(request.as_bytes()).unwrap();
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw).unwrap();
        let raw = String::from_utf8_lossy(&raw).into_owned();
        let (head, body) = raw.split_once("\r\n\r\n").unwrap_or((&raw, ""));
        let mut lines = head.lines();
        let status = lines
            .next()
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|c| c.parse().ok())
            .unwrap_or(0);
        let headers = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
            .collect();
        Reply {
            status,
            headers,
            body: body.to_string(),
        }
    }

    /// Stops the demo with SIGTERM and returns its exit status.
    pub fn stop(mut self) -> ExitStatus {
        let pid = self.child.id().to_string();
        Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "the demo did not stop within 30 s of SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
