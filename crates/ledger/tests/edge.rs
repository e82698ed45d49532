//! The edge over raw TCP: query strings no HTTP client would send (raw UTF-8, broken
//! percent-escapes) never panic the server, a request whose headers never end is closed within
//! the header timeout, and the `method` label of the request counter stays bounded.

mod common;

use common::Server;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

/// Sends `head` (request line and headers, raw bytes) and returns the status of the answer,
/// or None when the server closed the connection without one.
fn raw_request(server: &Server, head: &[u8]) -> Option<u16> {
    let mut tcp = TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    tcp.write_all(head).unwrap();
    let mut answer = Vec::new();
    let _ = tcp.read_to_end(&mut answer);
    let text = String::from_utf8_lossy(&answer);
    text.strip_prefix("HTTP/1.1 ")
        .and_then(|rest| rest.get(..3))
        .and_then(|code| code.parse().ok())
}

/// A config file holding only `[edge]` (the demo credentials stay).
fn edge_config(dir: &std::path::Path, edge: &str) -> std::path::PathBuf {
    let path = dir.join("ledger.toml");
    std::fs::write(&path, format!("[edge]\n{edge}\n")).unwrap();
    path
}

#[test]
fn raw_utf8_and_broken_escapes_in_query_strings_never_panic() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"));
    let paths = [
        "/healthz",
        "/log/positions",
        "/app/fee.listFee",
        "/api/bill/summary",
        "/api/bill/verify",
        "/ui/api/arrears",
        "/commands/x",
    ];
    let queries: [&[u8]; 10] = [
        "at=%aé".as_bytes(),
        b"at=%",
        b"at=%%",
        b"at=%zz",
        b"at=%e9%",
        b"at=%ff%fe",
        "communityId=é%&at=%a".as_bytes(),
        b"city_id=%00&at=0:%3",
        b"at=0%3A1%2",
        "page=%é1&limit=%".as_bytes(),
    ];
    let mut cases = 0;
    for path in paths {
        for query in queries {
            let mut head = format!("GET {path}?").into_bytes();
            head.extend_from_slice(query);
            head.extend_from_slice(b" HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
            let status = raw_request(&server, &head);
            // hyper may refuse a request line it cannot parse (400) or answer it; never 5xx,
            // never a dropped connection.
            let status =
                status.unwrap_or_else(|| panic!("no answer to {}", String::from_utf8_lossy(&head)));
            assert!(
                status < 500,
                "{status} for {}",
                String::from_utf8_lossy(&head)
            );
            cases += 1;
        }
    }
    let metrics = server.get("/metrics");
    let page = metrics.body.as_str().unwrap().to_string();
    assert!(page.contains("ledger_http_panics_total 0"), "{page}");
    println!("{cases} raw query strings, no panic");
}

#[test]
fn a_request_whose_headers_never_end_is_closed_within_the_header_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let config = edge_config(dir.path(), "header_timeout_s = 1");
    let server = Server::start_with(
        &dir.path().join("data"),
        &["--config", config.to_str().unwrap()],
    );
    let mut tcp = TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    // Far longer than the 1 s header timeout: a read that times out means the server kept
    // the connection open.
    tcp.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    tcp.write_all(b"GET /healthz HTTP/1.1\r\nHost: t\r\nX-Slow: ")
        .unwrap();
    let mut buf = Vec::new();
    match tcp.read_to_end(&mut buf) {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {}
        Err(e) => panic!("the connection stayed open: {e}"),
    }
    // The server still answers others.
    assert_eq!(server.get("/healthz").status, 200);
}

#[test]
fn unknown_methods_are_counted_under_one_label() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"));
    for method in ["FOO1", "FOO2", "BREW"] {
        let head = format!("{method} /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
        let status = raw_request(&server, head.as_bytes()).expect("an answer");
        assert_eq!(status, 405, "{method}");
    }
    let page = server.get("/metrics").body.as_str().unwrap().to_string();
    assert!(!page.contains("FOO1") && !page.contains("BREW"), "{page}");
    assert!(page.contains("method=\"other\""), "{page}");
}

#[test]
fn a_body_that_never_arrives_is_answered_within_the_body_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let config = edge_config(dir.path(), "body_timeout_s = 1");
    let server = Server::start_with(
        &dir.path().join("data"),
        &["--config", config.to_str().unwrap()],
    );
    let mut tcp = TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    // Far longer than the 1 s body timeout: a read that times out means the server waited.
    tcp.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    tcp.write_all(
        b"POST /occ/http/baas/bills HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n\
          Content-Length: 100\r\n\r\n{\"billId\":",
    )
    .unwrap();
    let mut answer = Vec::new();
    match tcp.read_to_end(&mut answer) {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {}
        Err(e) => panic!("the server still waits for the body: {e}"),
    }
    let text = String::from_utf8_lossy(&answer);
    assert!(text.is_empty() || text.starts_with("HTTP/1.1 4"), "{text}");
    assert_eq!(server.log_len(), 0);
}
