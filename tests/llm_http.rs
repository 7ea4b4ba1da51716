//! The OpenAI-compatible HTTP backend against a small server started in the
//! test (std::net::TcpListener): canned answers, retries, timeouts, refusals.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use icdflow::llm::http::{OpenAiBackend, OpenAiConfig};
use icdflow::llm::{Backend, FinishReason, GenRequest};
use serde_json::{json, Value};

/// What the test server does with one request.
enum Reply {
    Json(u16, Value),
    Text(u16, &'static str),
    /// Accept, read the request, then say nothing for this long.
    Hang(Duration),
}

/// A request as the server saw it.
#[derive(Debug, Clone)]
struct Seen {
    path: String,
    headers: Vec<(String, String)>,
    body: Value,
}

struct TestServer {
    url: String,
    seen: Arc<Mutex<Vec<Seen>>>,
    max_concurrent: Arc<AtomicUsize>,
}

type Responder = dyn Fn(usize, &Seen) -> Reply + Send + Sync;

fn serve(respond: impl Fn(usize, &Seen) -> Reply + Send + Sync + 'static) -> TestServer {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let max_concurrent = Arc::new(AtomicUsize::new(0));
    let respond: Arc<Responder> = Arc::new(respond);
    let (seen2, max2) = (seen.clone(), max_concurrent.clone());
    std::thread::spawn(move || {
        let active = Arc::new(AtomicUsize::new(0));
        for stream in listener.incoming() {
            let Ok(stream) = stream else { break };
            let (seen, respond, active, max) =
                (seen2.clone(), respond.clone(), active.clone(), max2.clone());
            std::thread::spawn(move || {
                let now = active.fetch_add(1, Ordering::SeqCst) + 1;
                max.fetch_max(now, Ordering::SeqCst);
                handle(stream, &seen, &*respond);
                active.fetch_sub(1, Ordering::SeqCst);
            });
        }
    });
    TestServer {
        url,
        seen,
        max_concurrent,
    }
}

fn handle(stream: TcpStream, seen: &Mutex<Vec<Seen>>, respond: &Responder) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut line = String::new();
    if reader.read_line(&mut line).unwrap_or(0) == 0 {
        return;
    }
    let path = line.split_whitespace().nth(1).unwrap_or("").to_string();
    let mut headers = Vec::new();
    let mut len = 0;
    loop {
        let mut h = String::new();
        reader.read_line(&mut h).unwrap();
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            let (k, v) = (k.trim().to_ascii_lowercase(), v.trim().to_string());
            if k == "content-length" {
                len = v.parse().unwrap();
            }
            headers.push((k, v));
        }
    }
    let mut body = vec![0; len];
    reader.read_exact(&mut body).unwrap();
    let req = Seen {
        path,
        headers,
        body: serde_json::from_slice(&body).unwrap_or(Value::Null),
    };
    let n = {
        let mut s = seen.lock().unwrap();
        s.push(req.clone());
        s.len() - 1
    };
    let (status, ctype, text) = match respond(n, &req) {
        Reply::Json(status, v) => (status, "application/json", v.to_string()),
        Reply::Text(status, t) => (status, "text/html", t.to_string()),
        Reply::Hang(d) => {
            std::thread::sleep(d);
            return;
        }
    };
    let mut out = stream;
    let _ = write!(
        out,
        "HTTP/1.1 {status} X\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{text}",
        text.len()
    );
}

fn config(url: &str) -> OpenAiConfig {
    let mut c = OpenAiConfig::new(url, "qwen");
    c.timeout_s = 5.0;
    c.max_retries = 2;
    c.retry_base_ms = 10;
    c
}

fn completion(text: &str) -> Value {
    json!({
        "choices": [{"text": text, "finish_reason": "stop",
                     "logprobs": {"tokens": [text], "token_logprobs": [-0.5]}}],
        "usage": {"prompt_tokens": 12, "completion_tokens": 1}
    })
}

fn generate(
    b: &mut OpenAiBackend,
    prefix: &str,
    reqs: &[GenRequest],
) -> icdflow::Result<Vec<icdflow::llm::Completion>> {
    let cancel = AtomicBool::new(false);
    b.generate(prefix, reqs, &cancel, &mut |_, _| {})
}

#[test]
fn answers_in_order_with_probabilities_and_server_fields() {
    let server = serve(|_, req| {
        let prompt = req.body["prompt"].as_str().unwrap_or("").to_string();
        Reply::Json(200, completion(&format!("<{prompt}>")))
    });
    let mut cfg = config(&server.url);
    cfg.api_key = Some("sk-test".into());
    let mut b = OpenAiBackend::new(cfg).unwrap();
    let reqs = [
        GenRequest::new("甲")
            .grammar("root ::= \"x\"")
            .max_tokens(7)
            .stop("\n"),
        GenRequest::new("乙").temperature(0.5).seed(3),
        GenRequest::new("丙"),
    ];
    let cancel = AtomicBool::new(false);
    let mut streamed = vec![String::new(); 3];
    let out = b
        .generate("病历", &reqs, &cancel, &mut |i, p| {
            streamed[i].push_str(p)
        })
        .unwrap();
    assert_eq!(out[0].text, "<病历甲>");
    assert_eq!(out[2].text, "<病历丙>");
    assert_eq!(streamed[1], "<病历乙>");
    assert!((out[0].token_probs[0] - (-0.5f32).exp()).abs() < 1e-6);
    assert_eq!(out[0].tokens.len(), out[0].token_probs.len());
    assert_eq!(out[0].prompt_tokens, 12);
    assert_eq!(out[0].finish, FinishReason::EndOfText);

    let seen = server.seen.lock().unwrap();
    assert_eq!(seen.len(), 3);
    let first = seen.iter().find(|s| s.body["prompt"] == "病历甲").unwrap();
    assert_eq!(first.path, "/v1/completions");
    assert_eq!(first.body["grammar"], "root ::= \"x\"");
    assert_eq!(first.body["guided_grammar"], "root ::= \"x\"");
    assert_eq!(first.body["max_tokens"], 7);
    assert_eq!(first.body["stop"], json!(["\n"]));
    assert_eq!(first.body["logprobs"], 1);
    assert!(first
        .headers
        .contains(&("authorization".into(), "Bearer sk-test".into())));
    let second = seen.iter().find(|s| s.body["prompt"] == "病历乙").unwrap();
    assert!(second.body.get("grammar").is_none());
    assert_eq!(second.body["seed"], 3);
    assert_eq!(b.stats().generated_tokens, 3);
}

#[test]
fn a_prefill_with_a_grammar_for_the_rest_is_sent_as_prompt_text() {
    let server = serve(|_, req| {
        let prompt = req.body["prompt"].as_str().unwrap_or("");
        let text = if prompt.ends_with("{\"pick\":\"") {
            "b\"}"
        } else {
            "{\"pick\":\"a\"}"
        };
        Reply::Json(200, completion(text))
    });
    let mut b = OpenAiBackend::new(config(&server.url)).unwrap();
    let reqs = [
        GenRequest::new("甲")
            .grammar("root ::= WHOLE")
            .prefill("{\"pick\":\"")
            .choices(vec!["a\"}".into(), "b\"}".into()]),
        // no choices for the rest: the server generates the whole answer
        GenRequest::new("乙")
            .grammar("root ::= WHOLE")
            .prefill("{\"pick\":\""),
    ];
    let cancel = AtomicBool::new(false);
    let mut streamed = vec![String::new(); 2];
    let out = b
        .generate("P", &reqs, &cancel, &mut |i, p| streamed[i].push_str(p))
        .unwrap();
    // The completion reads as the whole answer; the given opening is one
    // piece of probability 1 that the server did not generate.
    assert_eq!(out[0].text, "{\"pick\":\"b\"}");
    assert_eq!(streamed[0], out[0].text);
    assert_eq!(out[0].tokens, ["{\"pick\":\"", "b\"}"]);
    assert_eq!(out[0].token_probs[0], 1.0);
    assert_eq!(out[0].generated_tokens, 1);
    assert_eq!(out[1].text, "{\"pick\":\"a\"}");
    assert_eq!(out[1].tokens.len(), 1);

    let seen = server.seen.lock().unwrap();
    let with = seen
        .iter()
        .find(|s| s.body["prompt"] == "P甲{\"pick\":\"")
        .unwrap();
    let rest = "root ::= \"a\\\"}\" | \"b\\\"}\"\n";
    assert_eq!(with.body["grammar"], rest);
    assert_eq!(with.body["guided_grammar"], rest);
    let without = seen.iter().find(|s| s.body["prompt"] == "P乙").unwrap();
    assert_eq!(without.body["grammar"], "root ::= WHOLE");
}

#[test]
fn chat_style_logprobs_and_cache_figures() {
    let server = serve(|_, _| {
        Reply::Json(
            200,
            json!({
                "choices": [{"text": "{\"a\":1}", "finish_reason": "length",
                             "logprobs": {"content": [{"token": "{\"", "logprob": 0.0},
                                                      {"token": "a\":1}", "logprob": -1.0}]}}],
                "usage": {"prompt_tokens": 100, "completion_tokens": 2,
                          "prompt_tokens_details": {"cached_tokens": 90}},
                "timings": {"prompt_ms": 4.0, "predicted_ms": 8.0}
            }),
        )
    });
    let mut b = OpenAiBackend::new(config(&server.url)).unwrap();
    let out = generate(&mut b, "p", &[GenRequest::new("s")]).unwrap();
    let c = &out[0];
    assert_eq!(c.tokens, ["{\"", "a\":1}"]);
    assert!((c.token_probs[1] - (-1.0f32).exp()).abs() < 1e-6);
    assert_eq!(c.cached_tokens, 90);
    assert_eq!(c.finish, FinishReason::MaxTokens);
    assert!(c.truncated);
    let s = b.stats();
    assert_eq!((s.prompt_tokens, s.cached_tokens), (10, 90));
    assert_eq!((s.prompt_ms, s.gen_ms), (4.0, 8.0));
}

#[test]
fn requests_of_one_call_run_concurrently() {
    let server = serve(|_, _| {
        std::thread::sleep(Duration::from_millis(200));
        Reply::Json(200, completion("ok"))
    });
    let mut b = OpenAiBackend::new(config(&server.url)).unwrap();
    let reqs: Vec<_> = (0..4).map(|i| GenRequest::new(i.to_string())).collect();
    let out = generate(&mut b, "", &reqs).unwrap();
    assert!(out.iter().all(|c| c.text == "ok"));
    assert!(server.max_concurrent.load(Ordering::SeqCst) >= 2);
}

#[test]
fn a_500_is_retried_then_succeeds() {
    let server = serve(|n, _| {
        if n == 0 {
            Reply::Text(500, "busy")
        } else {
            Reply::Json(200, completion("fine"))
        }
    });
    let mut b = OpenAiBackend::new(config(&server.url)).unwrap();
    let out = generate(&mut b, "", &[GenRequest::new("q")]).unwrap();
    assert_eq!(out[0].text, "fine");
    assert_eq!(server.seen.lock().unwrap().len(), 2);
}

#[test]
fn persistent_5xx_and_429_give_up_after_the_retries() {
    for status in [503u16, 429] {
        let server = serve(move |_, _| Reply::Text(status, "overloaded"));
        let mut b = OpenAiBackend::new(config(&server.url)).unwrap();
        let e = generate(&mut b, "", &[GenRequest::new("q")])
            .unwrap_err()
            .to_string();
        assert!(
            e.contains(&server.url) && e.contains(&status.to_string()),
            "{e}"
        );
        assert!(e.contains("after 3 attempts"), "{e}");
        assert_eq!(server.seen.lock().unwrap().len(), 3);
    }
}

#[test]
fn a_400_is_not_retried() {
    let server = serve(|_, _| Reply::Json(400, json!({"error": "bad grammar"})));
    let mut b = OpenAiBackend::new(config(&server.url)).unwrap();
    let e = generate(&mut b, "", &[GenRequest::new("q")])
        .unwrap_err()
        .to_string();
    assert!(e.contains("400") && e.contains("bad grammar"), "{e}");
    assert_eq!(server.seen.lock().unwrap().len(), 1);
}

#[test]
fn a_hanging_server_times_out() {
    let server = serve(|_, _| Reply::Hang(Duration::from_secs(10)));
    let mut cfg = config(&server.url);
    cfg.timeout_s = 0.5;
    let mut b = OpenAiBackend::new(cfg).unwrap();
    let t = Instant::now();
    let e = generate(&mut b, "", &[GenRequest::new("q")])
        .unwrap_err()
        .to_string();
    assert!(e.contains("timeout") && e.contains(&server.url), "{e}");
    assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
    // Timeouts are not retried.
    assert_eq!(server.seen.lock().unwrap().len(), 1);
}

#[test]
fn a_refused_port_is_reported_with_the_url() {
    let port = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let url = format!("http://127.0.0.1:{port}");
    let mut b = OpenAiBackend::new(config(&url)).unwrap();
    let e = generate(&mut b, "", &[GenRequest::new("q")])
        .unwrap_err()
        .to_string();
    assert!(e.contains("unreachable") && e.contains(&url), "{e}");
}

#[test]
fn a_non_json_answer_is_reported() {
    let server = serve(|_, _| Reply::Text(200, "<html>proxy login</html>"));
    let mut b = OpenAiBackend::new(config(&server.url)).unwrap();
    let e = generate(&mut b, "", &[GenRequest::new("q")])
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("non-JSON") && e.contains("proxy login") && e.contains(&server.url),
        "{e}"
    );
    let server = serve(|_, _| Reply::Json(200, json!({"result": "no choices"})));
    let mut b = OpenAiBackend::new(config(&server.url)).unwrap();
    let e = generate(&mut b, "", &[GenRequest::new("q")])
        .unwrap_err()
        .to_string();
    assert!(e.contains("no choices"), "{e}");
}

#[test]
fn cancel_returns_without_waiting_for_the_server() {
    let server = serve(|_, _| Reply::Hang(Duration::from_secs(3)));
    let mut b = OpenAiBackend::new(config(&server.url)).unwrap();
    let cancel = Arc::new(AtomicBool::new(false));
    let flag = cancel.clone();
    std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(150));
        flag.store(true, Ordering::Relaxed);
    });
    let t = Instant::now();
    let out = b
        .generate(
            "",
            &[GenRequest::new("a"), GenRequest::new("b")],
            &cancel,
            &mut |_, _| {},
        )
        .unwrap();
    assert!(t.elapsed() < Duration::from_secs(2));
    assert!(out
        .iter()
        .all(|c| c.finish == FinishReason::Cancelled && c.truncated));
}

#[test]
fn token_counts_come_from_the_server_or_an_estimate() {
    let server = serve(|_, req| {
        if req.path == "/tokenize" {
            Reply::Json(200, json!({"tokens": [1, 2, 3]}))
        } else {
            Reply::Text(404, "not found")
        }
    });
    let b = OpenAiBackend::new(config(&format!("{}/v1", server.url))).unwrap();
    assert_eq!(b.count_tokens("高血压").unwrap(), 3);
    assert_eq!(server.seen.lock().unwrap()[0].body["content"], "高血压");

    let server = serve(|_, _| Reply::Text(404, "not found"));
    let b = OpenAiBackend::new(config(&server.url)).unwrap();
    assert_eq!(b.count_tokens("高血压病").unwrap(), 4);
    assert_eq!(b.count_tokens("ab").unwrap(), 2);
    // The missing endpoint is asked once, not on every count.
    assert_eq!(server.seen.lock().unwrap().len(), 1);
}
