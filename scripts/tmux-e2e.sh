#!/usr/bin/env bash
# End-to-end check of `icdflow tui` in a real terminal: tmux runs it
# detached at 160×48, keys go in with send-keys, screens come out with
# capture-pane into $OUT (plain text, and *.ansi with colours).
#
#   scripts/tmux-e2e.sh [FILE]
#
#   FILE         record file (default examples/records/cardiology.jsonl)
#   ICDFLOW_CMD  the command before FILE (default: "icdflow tui"; before the
#                binary is wired: "target/debug/examples/tui_demo")
#   OUT          where captures go (default target/tmux-e2e)
#
# Steps: open (picking the first record when the file holds many), run all,
# edit the prioritized procedure list (insert an item), re-run stale stages,
# copy the final codes, export JSON and the 病案首页 line, resize to 80×24,
# quit; then a second run that is sent SIGTERM after an edit, to check that
# the terminal is restored and the edit kept. Needs tmux (apt-get install -y tmux).
# The screens are read in the default interface language, Chinese (the
# session's config is kept apart below, so no `lang` of the user's applies).
set -euo pipefail

FILE=${1:-examples/records/cardiology.jsonl}
CMD=${ICDFLOW_CMD:-icdflow tui}
OUT=${OUT:-target/tmux-e2e}
S=icdflow-e2e-$$
# The diagnosis track's title strip: on screen only while the workbench is.
TRACKS="诊断  1 标准"
export LANG=C.UTF-8 LC_ALL=C.UTF-8
# Keep the run's sessions, config and exports apart from the user's.
export XDG_DATA_HOME=$OUT/data XDG_CONFIG_HOME=$OUT/config XDG_CACHE_HOME=$OUT/cache
# (ICDFLOW_SESSIONS is where the demo build keeps them; icdflow itself
# keeps them under XDG_DATA_HOME.)
export ICDFLOW_SESSIONS=$OUT/sessions ICDFLOW_USER=e2e
rm -rf "$OUT" && mkdir -p "$OUT/export" "$OUT/sessions"

# A tmux server of its own: a server already running (the user's, another
# run's) would start the program with that server's environment, and so
# with someone else's data, config and sessions.
tmux() { command tmux -L "$S" "$@"; }

fail() { echo "FAIL: $*" >&2; capture "fail"; exit 1; }
capture() { # name
  tmux capture-pane -p -t "$S" > "$OUT/$1.txt" || true
  tmux capture-pane -p -e -t "$S" > "$OUT/$1.ansi" || true
}
wait_for() { # pattern [seconds]
  local deadline=$((SECONDS + ${2:-20}))
  while ((SECONDS < deadline)); do
    if tmux capture-pane -p -t "$S" 2>/dev/null | grep -q -- "$1"; then return 0; fi
    sleep 0.2
  done
  fail "timed out waiting for: $1"
}
keys() { tmux send-keys -t "$S" "$@"; sleep 0.3; }
dead() { # waits up to 5 s for the program to end; prints its exit status
  # ("signal N", or "?" when tmux has not collected it)
  local deadline=$((SECONDS + 5)) st sig
  while ((SECONDS < deadline)); do
    if [ "$(tmux display-message -p -t "$S" '#{pane_dead}')" = 1 ]; then
      for _ in 1 2 3 4 5 6 7 8 9 10; do
        st=$(tmux display-message -p -t "$S" '#{pane_dead_status}')
        sig=$(tmux display-message -p -t "$S" '#{pane_dead_signal}')
        if [ -n "$st" ]; then echo "$st"; return 0; fi
        if [ -n "$sig" ]; then echo "signal $sig"; return 0; fi
        sleep 0.2
      done
      echo "?"
      return 0
    fi
    sleep 0.2
  done
  return 1
}
start() { # extra tmux env
  tmux kill-session -t "$S" 2>/dev/null || true
  tmux -u new-session -d -s "$S" -x 160 -y 48 \
    "exec $CMD $FILE --export-dir $OUT/export"
  tmux set-option -t "$S" remain-on-exit on >/dev/null
  wait_for "病案" 60
  # Many records: the picker is open; take the first.
  if tmux capture-pane -p -t "$S" | grep -q "有已保存的会话"; then
    capture "00-picker"
    keys Enter
  fi
}
trap 'tmux kill-server 2>/dev/null || true' EXIT

echo "== open"
start
wait_for "$TRACKS"
capture "01-open"

echo "== run all"
keys r
wait_for "全部运行：完成" 120
capture "02-run-all"

echo "== edit the prioritized procedure list"
keys J 3 e
wait_for "编辑 手术 排序"
# Insert a line after the first item and save.
keys Home End Enter
tmux send-keys -t "$S" -l "冠状动脉血栓抽吸术"
sleep 0.3
capture "03-editor"
keys C-s
wait_for "已保存"
grep -q "过期" < <(tmux capture-pane -p -t "$S") || fail "later stages are not stale"
capture "04-edited"

echo "== re-run stale"
keys R
wait_for "重跑过期：完成" 120
capture "05-rerun"

echo "== copy and export"
keys y
wait_for "复制最终编码"
capture "06-copied"
keys w
wait_for "已导出"
keys W
wait_for "病案首页行已写入"
ls "$OUT"/export/*.icdflow.json >/dev/null || fail "no JSON export"
[ -s "$OUT/export/homepage.tsv" ] || fail "no 病案首页 line"
capture "07-exported"

echo "== help, search, trace"
keys "?"
wait_for "按键"
capture "08-help"
# Escape goes alone: followed at once by a key it would read as Alt+key.
keys Escape
keys 6 /
wait_for "编码检索"
capture "09-search"
keys Escape
keys t
wait_for "追踪 ·"
capture "10-trace"
keys Escape

echo "== 80x24"
tmux resize-window -t "$S" -x 80 -y 24
sleep 0.5
capture "11-80x24"

echo "== quit"
keys q
status=$(dead) || fail "did not quit"
case "$status" in 0|"?") ;; *) fail "exit status $status" ;; esac
capture "12-after-quit"
grep -q "$TRACKS" "$OUT/12-after-quit.txt" && fail "alternate screen not left"

echo "== SIGTERM after an edit"
start
wait_for "$TRACKS"
keys J 3 x
wait_for "已保存"
pid=$(tmux display-message -p -t "$S" '#{pane_pid}')
kill -TERM "$pid"
dead >/dev/null || fail "SIGTERM did not end it"
capture "13-after-sigterm"
grep -q "$TRACKS" "$OUT/13-after-sigterm.txt" && fail "terminal not restored after SIGTERM"
start
wait_for "$TRACKS"
wait_for "已恢复会话"
capture "14-restored"

echo "OK: captures in $OUT"
