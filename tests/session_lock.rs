//! Two coders, one record: the second process sees who holds the session,
//! and gets it once the holder's process has ended (killed, not released).

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use icdflow::session::{Locked, SessionStore};

const CHILD: &str = "ICDFLOW_LOCK_TEST_CHILD";

/// The child process, killed when the test ends however it ends.
struct Kill(std::process::Child);

impl Drop for Kill {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// In the child: take the lock, say so, and wait to be killed.
#[test]
fn child_holds_the_lock() {
    let Some(dir) = std::env::var_os(CHILD) else {
        return;
    };
    let store = SessionStore::open(dir).unwrap();
    let Locked::Mine(lock) = store.lock("ZY-1").unwrap() else {
        panic!("the child could not lock")
    };
    println!("locked {}", lock.holder.pid);
    loop {
        std::thread::sleep(std::time::Duration::from_secs(1));
    }
}

#[test]
fn a_second_process_is_kept_out_until_the_holder_dies() {
    if std::env::var_os(CHILD).is_some() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut child = Kill(
        Command::new(std::env::current_exe().unwrap())
            .args([
                "child_holds_the_lock",
                "--exact",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD, dir.path())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let mut out = BufReader::new(child.0.stdout.take().unwrap());
    let mut line = String::new();
    let pid = loop {
        line.clear();
        assert!(out.read_line(&mut line).unwrap() > 0, "child ended early");
        // libtest may print "test child_holds_the_lock ... " before it
        if let Some((_, p)) = line.trim().rsplit_once("locked ") {
            break p.parse::<u32>().unwrap();
        }
    };
    let store = SessionStore::open(dir.path()).unwrap();
    match store.lock("ZY-1").unwrap() {
        Locked::Theirs(h) => {
            assert_eq!(h.pid, pid);
            assert_eq!(h.user, icdflow::session::current_user());
            assert!(
                h.describe().contains(&format!("pid {pid}")),
                "{}",
                h.describe()
            );
        }
        Locked::Mine(_) => panic!("two coders hold one record"),
    }
    // another record is free meanwhile
    assert!(matches!(store.lock("ZY-2").unwrap(), Locked::Mine(_)));
    child.0.kill().unwrap();
    child.0.wait().unwrap();
    match store.lock("ZY-1").unwrap() {
        Locked::Mine(l) => {
            let gone = l.took_over_from.clone().expect("the dead holder is named");
            assert_eq!(gone.pid, pid);
        }
        Locked::Theirs(h) => panic!("a dead process still holds it: {h:?}"),
    }
}
