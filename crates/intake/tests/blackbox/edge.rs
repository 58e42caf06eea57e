//! Black-box: the connections of the HTTP edge (issue 15, items 3 and 4). Slowloris
//! connections are closed after the header-read timeout and do not stop anyone else; idle
//! keep-alive connections last the keep-alive timeout, not the header timeout; past
//! `INTAKE_MAX_CONNECTIONS` new connections wait; and 1000 part PUTs trickling a byte a
//! second hold no blocking thread, so another project's uploads, downloads and validation
//! go about as fast as on an idle server.
//!
//! These speak raw HTTP/1.1 over TCP: no client library sends a request this slowly.

use crate::common;

use common::{send, TestServer, MIB, PROJECT_B};
use reqwest::Method;
use serde_json::json;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// `host:port` of the server.
fn address(server: &TestServer) -> String {
    server.base.trim_start_matches("http://").to_string()
}

/// Reads until the server closes the connection (or `limit` passes: a panic); returns
/// how long it took.
async fn closed_after(reader: &mut (impl AsyncReadExt + Unpin), limit: Duration) -> Duration {
    let started = Instant::now();
    let mut buf = [0u8; 4096];
    loop {
        match tokio::time::timeout_at((started + limit).into(), reader.read(&mut buf)).await {
            Err(_) => panic!("the server did not close the connection within {limit:?}"),
            Ok(Ok(0)) | Ok(Err(_)) => return started.elapsed(),
            Ok(Ok(_)) => {}
        }
    }
}

/// Reads one answer (headers and a `content-length` body) from a keep-alive connection;
/// returns its status line.
async fn read_answer(stream: &mut TcpStream) -> String {
    let mut read = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        if let Some(end) = read.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&read[..end]).to_string();
            let length: usize = head
                .lines()
                .find_map(|l| l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().parse().unwrap()))
                .unwrap_or(0);
            if read.len() >= end + 4 + length {
                return head.lines().next().unwrap().to_string();
            }
        }
        let n = tokio::time::timeout(Duration::from_secs(20), stream.read(&mut buf))
            .await
            .expect("an answer within 20 s")
            .unwrap();
        assert!(n > 0, "the connection closed before the answer was complete");
        read.extend_from_slice(&buf[..n]);
    }
}

const HEALTHZ: &[u8] = b"GET /healthz HTTP/1.1\r\nHost: intake\r\n\r\n";

#[tokio::test]
async fn a_slowloris_is_closed_after_the_header_read_timeout() {
    let server = TestServer::start_with(|c| {
        c.header_read_timeout = Duration::from_secs(1);
        c.keepalive_timeout = Duration::from_secs(60);
    })
    .await;
    // One sends nothing; one sends a header line every 200 ms and never ends its headers.
    let silent = TcpStream::connect(address(&server)).await.unwrap();
    let trickling = TcpStream::connect(address(&server)).await.unwrap();
    let (mut reader, mut writer) = trickling.into_split();
    let trickle = tokio::spawn(async move {
        writer.write_all(b"GET /healthz HTTP/1.1\r\nHost: intake\r\n").await?;
        loop {
            // The scenario: a header line every 200 ms, the slowloris's pace.
            tokio::time::sleep(Duration::from_millis(200)).await;
            writer.write_all(b"X-Slow: yes\r\n").await?;
        }
        #[allow(unreachable_code)]
        Ok::<(), std::io::Error>(())
    });
    let mut silent = silent;
    let (silent_closed, trickling_closed) = tokio::join!(
        closed_after(&mut silent, Duration::from_secs(10)),
        closed_after(&mut reader, Duration::from_secs(10))
    );
    for (name, after) in [("silent", silent_closed), ("trickling", trickling_closed)] {
        assert!(
            after >= Duration::from_millis(900) && after < Duration::from_secs(5),
            "{name}: closed after {after:?}"
        );
    }
    trickle.abort();
    assert_eq!(send(server.http.get(server.url("/healthz"))).await.0, 200);
}

#[tokio::test]
async fn an_idle_keepalive_connection_lasts_the_keepalive_timeout_not_the_header_timeout() {
    let server = TestServer::start_with(|c| {
        c.header_read_timeout = Duration::from_millis(500);
        c.keepalive_timeout = Duration::from_secs(2);
    })
    .await;
    // Idle after an answer: closed after the keep-alive timeout.
    let mut idle = TcpStream::connect(address(&server)).await.unwrap();
    idle.write_all(HEALTHZ).await.unwrap();
    assert_eq!(read_answer(&mut idle).await, "HTTP/1.1 200 OK");
    let after = closed_after(&mut idle, Duration::from_secs(10)).await;
    assert!(after >= Duration::from_millis(1800) && after < Duration::from_secs(5), "closed after {after:?}");

    // Idle for longer than the header timeout (hyper's own would have closed it), then a
    // second request on the same connection is answered.
    let mut reused = TcpStream::connect(address(&server)).await.unwrap();
    reused.write_all(HEALTHZ).await.unwrap();
    assert_eq!(read_answer(&mut reused).await, "HTTP/1.1 200 OK");
    // The scenario: idle past the header timeout (0.5 s), within the keep-alive one (2 s).
    tokio::time::sleep(Duration::from_secs(1)).await;
    reused.write_all(HEALTHZ).await.unwrap();
    assert_eq!(read_answer(&mut reused).await, "HTTP/1.1 200 OK");
    // The first byte of a next request starts its header clock: closed after the header
    // timeout, well before the keep-alive one.
    reused.write_all(b"G").await.unwrap();
    let after = closed_after(&mut reused, Duration::from_secs(10)).await;
    assert!(after >= Duration::from_millis(400) && after < Duration::from_millis(1800), "closed after {after:?}");
}

#[tokio::test]
async fn http2_with_prior_knowledge_is_still_served() {
    let server = TestServer::start().await;
    let h2 = reqwest::Client::builder().http2_prior_knowledge().build().unwrap();
    let response = h2.get(server.url("/v1/projects")).basic_auth("alice", Some("alice-secret")).send().await.unwrap();
    assert_eq!((response.version(), response.status().as_u16()), (reqwest::Version::HTTP_2, 200));
    let done = server.upload_and_wait("a.txt", "text/plain", b"hello", "text").await;
    let asset = send(server.alice(Method::GET, &format!("/v1/assets/{}", done["entityId"].as_str().unwrap()))).await;
    let file = h2.get(asset.1["asset"]["url"].as_str().unwrap()).send().await.unwrap();
    assert_eq!(file.version(), reqwest::Version::HTTP_2);
    assert_eq!(file.bytes().await.unwrap().as_ref(), b"hello");
}

#[tokio::test]
async fn past_the_connection_cap_new_connections_wait_for_one_to_close() {
    let server = TestServer::start_with(|c| c.max_connections = 3).await;
    let mut held = Vec::new();
    for _ in 0..3 {
        let mut stream = TcpStream::connect(address(&server)).await.unwrap();
        stream.write_all(HEALTHZ).await.unwrap();
        assert_eq!(read_answer(&mut stream).await, "HTTP/1.1 200 OK");
        held.push(stream);
    }
    // The fourth is connected by the kernel but not served while three are open.
    let mut waiting = TcpStream::connect(address(&server)).await.unwrap();
    waiting.write_all(HEALTHZ).await.unwrap();
    let mut buf = [0u8; 64];
    assert!(
        tokio::time::timeout(Duration::from_millis(500), waiting.read(&mut buf)).await.is_err(),
        "a fourth connection was served past the cap"
    );
    drop(held.pop());
    assert_eq!(read_answer(&mut waiting).await, "HTTP/1.1 200 OK");
}

/// Opens `count` connections that send the start of a request's headers, then one more
/// header line a second (until dropped). Returns the connections' read halves.
async fn slowloris(
    server: &TestServer,
    count: usize,
) -> (Vec<tokio::net::tcp::OwnedReadHalf>, tokio::task::JoinHandle<()>) {
    let mut readers = Vec::new();
    let mut writers = Vec::new();
    for _ in 0..count {
        let (reader, mut writer) = TcpStream::connect(address(server)).await.unwrap().into_split();
        writer.write_all(b"PUT /parts/upload_x/1 HTTP/1.1\r\nHost: intake\r\n").await.unwrap();
        readers.push(reader);
        writers.push(writer);
    }
    let trickle = tokio::spawn(async move {
        loop {
            // The scenario: a header line a second per connection.
            tokio::time::sleep(Duration::from_secs(1)).await;
            for writer in &mut writers {
                let _ = writer.write_all(b"X-Slow: yes\r\n").await;
            }
        }
    });
    (readers, trickle)
}

/// Connections the server has not closed nor answered.
fn still_waiting(readers: &[tokio::net::tcp::OwnedReadHalf]) -> usize {
    let mut buf = [0u8; 16];
    readers
        .iter()
        .filter(|r| matches!(r.try_read(&mut buf), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock))
        .count()
}

/// What project A does, timed: uploads a file of 2 MiB (create, part PUT, complete),
/// waits for its validation and import, and downloads it through its file URL.
async fn project_a_round(server: &TestServer, file: &[u8]) -> Duration {
    let started = Instant::now();
    let done = tokio::time::timeout(Duration::from_secs(60), async {
        let done = server.upload_and_wait("notes.txt", "text/plain", file, "text").await;
        assert_eq!(done["status"], "imported", "{done}");
        let asset =
            send(server.alice(Method::GET, &format!("/v1/assets/{}", done["entityId"].as_str().unwrap()))).await;
        let (status, bytes) = server.download(asset.1["asset"]["url"].as_str().unwrap()).await;
        assert_eq!((status, bytes.len()), (200, file.len()));
    })
    .await;
    assert!(done.is_ok(), "project A's upload, validation and download did not finish within 60 s");
    started.elapsed()
}

/// The median of `rounds` timed rounds of project A.
async fn project_a_median(server: &TestServer, file: &[u8], rounds: usize) -> Duration {
    let mut times = Vec::new();
    for _ in 0..rounds {
        times.push(project_a_round(server, file).await);
    }
    times.sort();
    times[rounds / 2]
}

/// How long the blocking pool takes to run a no-op (it never does when every thread is
/// held).
async fn blocking_pool_latency() -> Duration {
    let started = Instant::now();
    tokio::time::timeout(Duration::from_secs(20), tokio::task::spawn_blocking(|| ()))
        .await
        .expect("the blocking pool ran nothing for 20 s: it is exhausted")
        .unwrap();
    started.elapsed()
}

fn text_file() -> Vec<u8> {
    b"a line of notes, in plain words\n".iter().copied().cycle().take(2 * MIB).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slowloris_connections_do_not_stop_normal_requests() {
    let server = TestServer::start_with(|c| c.header_read_timeout = Duration::from_secs(120)).await;
    let file = text_file();
    let idle = project_a_median(&server, &file, 3).await;
    let (readers, trickle) = slowloris(&server, 500).await;
    let loaded = project_a_median(&server, &file, 3).await;
    assert_eq!(still_waiting(&readers), 500, "every slowloris connection was held meanwhile");
    trickle.abort();
    eprintln!("project A: {idle:?} idle, {loaded:?} beside 500 slowloris connections");
    assert!(loaded <= idle * 3 + Duration::from_millis(500), "{loaded:?} beside slowloris, {idle:?} idle");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_trickling_part_puts_leave_other_projects_as_fast_as_idle() {
    if common::backend::scaleout().is_some() {
        return common::backend::skip("part PUTs go to the object store, not to intake");
    }
    const TRICKLING: usize = 1000;
    let server = TestServer::start().await;
    let file = text_file();
    let idle = project_a_median(&server, &file, 3).await;
    let idle_pool = blocking_pool_latency().await;

    // Project B: one upload of 1000 parts of 5 MiB, each PUT announced in full and then
    // sent a byte a second.
    let part_size = 5 * MIB;
    let create = json!({"fileName": "big.bin", "contentType": "application/octet-stream",
                        "fileSize": TRICKLING * part_size, "parts": TRICKLING, "kind": "asset"});
    let (status, body) =
        send(server.bob(Method::POST, &format!("/v1/uploads?projectId={PROJECT_B}")).json(&create)).await;
    assert_eq!(status, 200, "{body}");
    let urls: Vec<String> =
        body["upload"]["parts"].as_array().unwrap().iter().map(|p| p["url"].as_str().unwrap().to_string()).collect();
    let opened = futures_util::future::join_all(urls.iter().map(|url| {
        let path = url.trim_start_matches(&server.base).to_string();
        let address = address(&server);
        async move {
            let mut stream = TcpStream::connect(address).await.unwrap();
            let head = format!(
                "PUT {path} HTTP/1.1\r\nHost: intake\r\nContent-Length: {part_size}\r\nExpect: 100-continue\r\n\r\n"
            );
            stream.write_all(head.as_bytes()).await.unwrap();
            // hyper says "100 Continue" when the handler starts reading the body: from
            // then on the PUT is in flight, waiting for bytes.
            let mut buf = [0u8; 64];
            let n = tokio::time::timeout(Duration::from_secs(60), stream.read(&mut buf)).await.unwrap().unwrap();
            assert!(buf[..n].starts_with(b"HTTP/1.1 100 Continue"), "{}", String::from_utf8_lossy(&buf[..n]));
            stream.into_split()
        }
    }))
    .await;
    let (readers, mut writers): (Vec<_>, Vec<_>) = opened.into_iter().unzip();
    let trickle = tokio::spawn(async move {
        loop {
            for writer in &mut writers {
                writer.write_all(b"x").await.expect("a trickling PUT was cut off");
            }
            // The scenario: a body byte a second per connection.
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    });

    let loaded_pool = blocking_pool_latency().await;
    let loaded = project_a_median(&server, &file, 3).await;
    assert_eq!(still_waiting(&readers), TRICKLING, "every trickling PUT was in flight meanwhile");
    assert!(!trickle.is_finished(), "a trickling PUT was cut off");
    trickle.abort();
    eprintln!(
        "project A: {idle:?} idle, {loaded:?} beside {TRICKLING} trickling PUTs; blocking pool: {idle_pool:?} idle, {loaded_pool:?} loaded"
    );
    assert!(loaded <= idle * 3 + Duration::from_millis(500), "{loaded:?} beside trickling PUTs, {idle:?} idle");
    assert!(loaded_pool < Duration::from_secs(1), "the blocking pool took {loaded_pool:?} to run a no-op");
}

/// CPU seconds (user + system) the process `pid` has used so far.
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // Fields after the command name (which is in parentheses and may hold spaces).
    let fields: Vec<&str> = stat.rsplit_once(')').unwrap().1.split_whitespace().collect();
    let ticks: f64 = fields[11].parse::<f64>().unwrap() + fields[12].parse::<f64>().unwrap();
    ticks / 100.0 // USER_HZ, 100 on Linux
}

/// With fewer descriptors than connections (a hard limit of 64, below the default cap),
/// an accept that fails with EMFILE waits instead of spinning, and serving resumes once
/// connections close.
#[cfg(target_os = "linux")]
#[tokio::test]
async fn out_of_descriptors_the_accept_loop_waits_instead_of_spinning() {
    use std::io::BufRead;
    let data_dir = tempfile::tempdir().unwrap();
    let mut command = std::process::Command::new("sh");
    command
        .args(["-c", "ulimit -n 64 && exec \"$0\" serve", env!("CARGO_BIN_EXE_intake")])
        .env("INTAKE_LISTEN", "127.0.0.1:0")
        .env("INTAKE_DATA_DIR", data_dir.path())
        .env("INTAKE_API_KEYS", common::API_KEYS)
        .env("INTAKE_LOG", "error")
        .envs(common::backend::process_env(data_dir.path()))
        .stdout(std::process::Stdio::piped());
    let mut child = command.spawn().unwrap();
    let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let base = loop {
        let line = lines.next().expect("intake printed its address").unwrap();
        if let Some(rest) = line.strip_prefix("intake listening on ") {
            break rest.split_whitespace().next().unwrap().to_string();
        }
    };
    let address = base.trim_start_matches("http://").to_string();
    // More connections than descriptors: the kernel queues them, intake accepts what it can.
    let mut held = Vec::new();
    for _ in 0..100 {
        held.push(TcpStream::connect(&address).await.unwrap());
    }
    let mut probe = TcpStream::connect(&address).await.unwrap();
    probe.write_all(HEALTHZ).await.unwrap();
    let mut buf = [0u8; 64];
    assert!(
        tokio::time::timeout(Duration::from_millis(500), probe.read(&mut buf)).await.is_err(),
        "served although out of descriptors (raise the connection count?)"
    );
    let before = cpu_seconds(child.id());
    // The scenario: the CPU the server spends over two idle seconds out of descriptors.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let spent = cpu_seconds(child.id()) - before;
    assert!(spent < 0.5, "the server burnt {spent:.2} s of CPU in 2 s while out of descriptors");
    // Connections close: the waiting ones are served.
    drop(held);
    assert_eq!(read_answer(&mut probe).await, "HTTP/1.1 200 OK");
    let _ = child.kill();
    let _ = child.wait();
}
