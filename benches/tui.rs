//! Frame render time and keystroke-to-frame latency of the workbench on a
//! record with 40 items in every list of both tracks (10 lists, 400 items).
//!
//! `cargo bench --no-default-features --bench tui`
//!
//! Rendering goes into ratatui's `TestBackend`, so the figures are the
//! app's own work (state update, layout, widgets, buffer diff), not the
//! terminal's drawing.

use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use std::sync::Arc;

use icdflow::pipeline::CodingContext;
use icdflow::search::Matcher;
use icdflow::session::{Session, SessionStore};
use icdflow::terminology::{CodeSystem, Terminology};
use icdflow::tui::action::Action;
use icdflow::tui::app::{App, AppConfig};
use icdflow::tui::clipboard::MemoryClipboard;
use icdflow::tui::sample;
use icdflow::tui::worker::InlineWorker;
use ratatui::backend::TestBackend;
use ratatui::Terminal;

/// A fictional ICD-10 table of `n` codes (names built from demo names), to
/// time the code search on a table of realistic size.
fn big_context(n: usize) -> Arc<CodingContext> {
    let words = [
        "冠状动脉",
        "粥样硬化",
        "心绞痛",
        "高血压",
        "糖尿病",
        "心肌梗死",
        "心力衰竭",
        "房颤",
        "肺炎",
        "肾病",
        "贫血",
        "脑梗死",
    ];
    let rows: Vec<(String, String)> = (0..n)
        .map(|i| {
            (
                format!("X{:02}.{:03}", i / 1000, i % 1000),
                format!("{}{}{}型", words[i % 12], words[(i / 12) % 12], i % 7),
            )
        })
        .collect();
    let diag = Terminology::from_pairs(CodeSystem::Icd10, "bench", &rows);
    Arc::new(CodingContext::new(
        Matcher::linear(Arc::new(diag)),
        Matcher::linear(Arc::new(sample::procedures_table())),
    ))
}

fn app(dir: &tempfile::TempDir, w: u16, h: u16) -> App {
    let rec = sample::record();
    let store = SessionStore::open(dir.path().join("s")).unwrap();
    let mut s = Session::new(rec.id.clone());
    s.run = sample::bulk_run(&rec, 40);
    store.save(&s).unwrap();
    let cfg = AppConfig {
        export_dir: dir.path().join("out"),
        ..AppConfig::default()
    };
    let mut app = App::new(
        vec![rec],
        store,
        Box::new(InlineWorker::new(sample::engine())),
        Box::new(MemoryClipboard::default()),
        cfg,
        None,
    )
    .unwrap();
    app.pump();
    app.handle(Action::Resize {
        width: w,
        height: h,
    });
    // A middle item of the procedure track's Prioritized list.
    for c in ['J', '3'] {
        app.handle_key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE));
    }
    for _ in 0..20 {
        app.handle(Action::Down);
    }
    app
}

/// Swallows what a terminal would be sent.
struct Sink;

impl std::io::Write for Sink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        Ok(std::hint::black_box(buf).len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn key(c: char) -> KeyEvent {
    KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE)
}

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    for (w, h) in [(160u16, 48u16), (80, 24)] {
        let mut app = app(&dir, w, h);
        let mut term = Terminal::new(TestBackend::new(w, h)).unwrap();
        term.draw(|f| icdflow::tui::ui::render(f, &app)).unwrap();

        c.bench_function(&format!("frame render {w}x{h}, 40 items/list"), |b| {
            b.iter(|| {
                term.draw(|f| icdflow::tui::ui::render(f, &app)).unwrap();
            })
        });

        // Cursor down/up: the commonest key. Alternating keeps the cursor
        // in the middle of the list, so every frame changes.
        let mut down = true;
        c.bench_function(&format!("key→frame {w}x{h}: j/k (move cursor)"), |b| {
            b.iter(|| {
                app.handle_key(key(if down { 'j' } else { 'k' }));
                down = !down;
                term.draw(|f| icdflow::tui::ui::render(f, &app)).unwrap();
            })
        });

        // The same through the crossterm backend into a byte sink: adds the
        // escape sequences a real terminal would be sent.
        if w == 160 {
            // A fixed viewport: no terminal to ask for its size.
            let mut ct = Terminal::with_options(
                ratatui::backend::CrosstermBackend::new(Sink),
                ratatui::TerminalOptions {
                    viewport: ratatui::Viewport::Fixed(ratatui::layout::Rect::new(0, 0, w, h)),
                },
            )
            .unwrap();
            let mut down = true;
            c.bench_function(
                &format!("key→frame {w}x{h}: j/k, crossterm output"),
                |b| {
                    b.iter(|| {
                        app.handle_key(key(if down { 'j' } else { 'k' }));
                        down = !down;
                        ct.draw(|f| icdflow::tui::ui::render(f, &app)).unwrap();
                    })
                },
            );
        }

        // Focus moves: evidence follows, the record pane re-wraps and scrolls.
        let mut right = true;
        c.bench_function(&format!("key→frame {w}x{h}: l/h (move focus)"), |b| {
            b.iter(|| {
                app.handle_key(key(if right { 'l' } else { 'h' }));
                right = !right;
                term.draw(|f| icdflow::tui::ui::render(f, &app)).unwrap();
            })
        });

        // An edit: reorder an item, which replaces the list, invalidates later
        // stages and autosaves the session atomically (fsync) before the frame.
        let mut up = true;
        c.bench_function(
            &format!("key→frame {w}x{h}: </> (reorder + autosave)"),
            |b| {
                b.iter(|| {
                    app.handle_key(key(if up { '<' } else { '>' }));
                    up = !up;
                    term.draw(|f| icdflow::tui::ui::render(f, &app)).unwrap();
                })
            },
        );
    }
}

fn bench_search(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let store = SessionStore::open(dir.path().join("s2")).unwrap();
    let mut app = App::new(
        vec![sample::record()],
        store,
        Box::new(InlineWorker::new(icdflow::assemble::standard_engine(
            big_context(30_000),
        ))),
        Box::new(MemoryClipboard::default()),
        AppConfig::default(),
        None,
    )
    .unwrap();
    app.pump();
    app.handle(Action::Resize {
        width: 160,
        height: 48,
    });
    app.handle(Action::Search);
    let mut term = Terminal::new(TestBackend::new(160, 48)).unwrap();
    let mut grow = true;
    // One typed char (or backspace), the lookup over 30,000 names, a frame.
    c.bench_function(
        "key→frame 160x48: type in code search (30k-code table)",
        |b| {
            b.iter(|| {
                let ev = if grow {
                    key('心')
                } else {
                    KeyEvent::new(KeyCode::Backspace, KeyModifiers::NONE)
                };
                grow = !grow;
                app.handle_key(ev);
                app.pump();
                term.draw(|f| icdflow::tui::ui::render(f, &app)).unwrap();
            })
        },
    );
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(30)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    targets = bench, bench_search
}
criterion_main!(benches);
