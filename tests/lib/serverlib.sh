# shellcheck shell=bash
# shellcheck disable=SC2034 # (variables for the scripts that source this)
# tests/lib/serverlib.sh - helpers for the tests that run servers under
# kvmserver (tests/vm/server-tests, tests/vm/runtime-tests).  Sourced after
# tests/vm/lib.sh, whose KVM, BUILD_ABS, KT_TMP, kt_* it uses.
#
# Environment:
#   KVMSERVER_TEST_SCALE   multiplies the request counts (default 1; 0.1 works)
#   KVMSERVER_NESTED_GUEST 1 inside tools/with-kvm's emulated machine (~40x
#                          slower): smaller counts, longer timeouts
#   DENO                   a deno binary to use instead of installing one
#   KS_XTRACE              a file: trace the script into it (bash -x, timestamps)
#
# Sets: SRV (the tests/servers sources), SB (where they are built), NESTED,
# SCALE, T_LOAD (seconds to wait for the `loaded` line), T_REQ (seconds per
# request), T_STALL (seconds without any answer before a run of requests fails),
# T_LIFE (the longest a server may live), and the helpers below.
# Every server started with ks_start is stopped by ks_stop or, at the latest,
# when the script exits.

# KS_XTRACE=FILE: trace the script (with timestamps) into FILE
if [[ -n ${KS_XTRACE:-} ]]; then
    exec 9>>"$KS_XTRACE"
    BASH_XTRACEFD=9
    PS4='+ ${EPOCHREALTIME} '
    set -x
fi

SRV=$KT_ROOT/tests/servers
SB=$BUILD_ABS/tests/servers
mkdir -p "$SB"
NESTED=0
[[ ${KVMSERVER_NESTED_GUEST:-} == 1 ]] && NESTED=1
SCALE=${KVMSERVER_TEST_SCALE:-1}
[[ $SCALE =~ ^[0-9]*\.?[0-9]+$ ]] || SCALE=1
# Only safety nets against a hang, scaled by lib.sh's KT_SLOW: a loaded machine makes
# the tests slower, never failed.  Long runs are bounded by progress (T_STALL: hclient
# fails when no request has been answered for that long), not by their total time.
if ((NESTED)); then
    T_LOAD=600 T_REQ=120 T_STALL=600
else
    T_LOAD=120 T_REQ=30 T_STALL=120
fi
T_LOAD=$((T_LOAD * KT_SLOW)) T_REQ=$((T_REQ * KT_SLOW)) T_STALL=$((T_STALL * KT_SLOW))
# the longest a server may live: only there to end one a broken test left behind
T_LIFE=$((4 * 3600))

# ks_n NATIVE NESTED [MIN]: a request count: NATIVE (or NESTED inside the
# emulated machine) times SCALE, at least MIN (default 1).
ks_n() {
    local n=$1
    ((NESTED)) && n=$2
    awk -v n="$n" -v s="$SCALE" -v m="${3:-1}" 'BEGIN { v = int(n * s + 0.5); if (v < m) v = m; print v }'
}

# --- building the servers -------------------------------------------------------------------
# ks_build NAME...: compile tests/servers/NAME.c into $SB/NAME (dynamic, -pthread)
ks_build() {
    local n src
    for n in "$@"; do
        # a server (tests/servers), a plain program (tests/programs) or a client (tests/clients)
        src=$SRV/$n.c
        [[ -e $src ]] || src=$KT_ROOT/tests/programs/$n.c
        [[ -e $src ]] || src=$KT_ROOT/tests/clients/$n.c
        # kt_compile only looks at the .c file: the shared headers count too
        [[ -e $SB/$n && ($SRV/http.h -nt $SB/$n || $KT_ROOT/tests/programs/cases.h -nt $SB/$n) ]] && rm -f "$SB/$n"
        kt_compile "$src" "$SB/$n" dynamic -pthread -I"$SRV" -I"$KT_ROOT/tests/programs" ||
            kt_fail "compile $n" "gcc failed" "$SB/$n.log"
    done
}

# ks_deno_setup: sets DENO (the binary) and DENO_DIR_T (its cache directory),
# installing @deno/linux-x64-glibc with npm when it is missing.  Returns 1 (and
# says why in KS_DENO_WHY) when there is no deno.
DENO_VERSION=2.9.6
ks_deno_setup() {
    DENO_DIR_T=$SB/deno-dir
    mkdir -p "$DENO_DIR_T"
    if [[ -n ${DENO:-} ]]; then
        [[ -x $DENO ]] && return 0
        KS_DENO_WHY="DENO=$DENO is not executable"
        return 1
    fi
    DENO=$BUILD_ABS/deno/node_modules/@deno/linux-x64-glibc/deno
    [[ -x $DENO ]] && return 0
    if ! command -v npm >/dev/null 2>&1; then
        KS_DENO_WHY="no deno at $DENO and no npm to install it"
        return 1
    fi
    mkdir -p "$BUILD_ABS/deno"
    if ! timeout 600 npm install --no-save --no-audit --no-fund --prefix "$BUILD_ABS/deno" \
        "@deno/linux-x64-glibc@$DENO_VERSION" >"$BUILD_ABS/deno/npm.log" 2>&1 || [[ ! -x $DENO ]]; then
        KS_DENO_WHY="npm install @deno/linux-x64-glibc@$DENO_VERSION failed (see $BUILD_ABS/deno/npm.log)"
        return 1
    fi
}

# the kvmserver options deno needs: its cache, no update check (which would
# mean network traffic), everything readable
ks_deno_opts() {
    KS_DENO_OPTS=(--env DENO_NO_UPDATE_CHECK=1 --env "DENO_DIR=$DENO_DIR_T"
        --allow-write="$DENO_DIR_T" --allow-read)
}

# --- ports --------------------------------------------------------------------------------
# ks_next_port: sets PORT to the next port in KS_PORT_LO..KS_PORT_HI (set by the
# script; wraps around) that nothing listens on, so that a second run of the
# tests at the same time does not collide with this one.
ks_port_busy() {
    local hex
    hex=$(printf '%04X' "$1")
    awk -v p=":$hex" 'NR > 1 && substr($2, length($2) - 4) == p && $4 == "0A" { found = 1 } END { exit !found }' \
        /proc/net/tcp /proc/net/tcp6 2>/dev/null
}
ks_next_port() {
    local i
    for ((i = 0; i <= KS_PORT_HI - KS_PORT_LO; i++)); do
        PORT=$((${PORT:-$KS_PORT_LO - 1} + 1))
        ((PORT >= KS_PORT_LO && PORT <= KS_PORT_HI)) || PORT=$KS_PORT_LO
        ks_port_busy "$PORT" || return 0
    done
}

# --- processes ------------------------------------------------------------------------------
KS_PIDS=()
# this run's logs; kept when something failed
KS_RUN=$SB/run.$$
rm -rf "$KS_RUN"

ks_alive() { # PID: running (not gone, not a zombie); no subprocess
    local -a st
    read -r -a st 2>/dev/null <"/proc/$1/stat" || return 1
    [[ -n ${st[2]:-} && ${st[2]} != Z ]]
}

# ks_sleep SECS: sleep (an external sleep: bash's `read -t` on a pipe was seen
# to hang forever inside the emulated machine)
ks_sleep() {
    sleep "$1"
}

# ks_loaded_line FILE: set KS_LOADED to the file's `Program '...' loaded.` line
ks_loaded_line() {
    local line
    KS_LOADED=
    [[ -f $1 ]] || return 1
    while IFS= read -r line; do
        if [[ $line == "Program '"*"' loaded. "* ]]; then
            KS_LOADED=$line
            return 0
        fi
    done <"$1"
    return 1
}

# ks_tree PID: PID and all its descendants
ks_tree() {
    local p=$1 c
    echo "$p"
    local t kids
    for t in /proc/"$p"/task/*/children; do
        kids=()
        read -r -a kids 2>/dev/null <"$t" # (no final newline: read "fails")
        for c in "${kids[@]}"; do
            ks_tree "$c"
        done
    done
}

# ks_host_fds PID: how many fds process PID holds, once the count has held still for three
# readings 0.2 s apart (a reset may still be closing the last request's fds; at most ~20 s)
ks_host_fds() {
    local n prev=-1 same=0 i
    for ((i = 0; i < 100; i++)); do
        n=$(ls "/proc/$1/fd" 2>/dev/null | wc -l)
        if [[ $n == "$prev" ]]; then
            ((++same >= 2)) && break
        else
            same=0
        fi
        prev=$n
        sleep 0.2
    done
    echo "$n"
}

# ks_rss PID: resident set (KiB) of PID and its descendants (the timeout wrapper
# is a few hundred KiB and constant)
ks_rss() {
    local p sum=0 r k
    for p in $(ks_tree "$1"); do
        while read -r k r _; do
            [[ $k == VmRSS: ]] && sum=$((sum + r))
        done 2>/dev/null <"/proc/$p/status"
    done
    echo "$sum"
}

ks_kill_one() { # PID: TERM (timeout passes it on to kvmserver), then KILL
    local pid=$1 i
    ks_alive "$pid" || { wait "$pid" 2>/dev/null; return 0; }
    kill -TERM "$pid" 2>/dev/null
    for ((i = 0; i < 100; i++)); do
        ks_alive "$pid" || break
        ks_sleep 0.1
    done
    if ks_alive "$pid"; then
        local p
        for p in $(ks_tree "$pid"); do
            kill -KILL "$p" 2>/dev/null
        done
    fi
    wait "$pid" 2>/dev/null
    return 0
}

ks_cleanup() {
    local p
    for p in "${KS_PIDS[@]}"; do
        ks_kill_one "$p"
    done
    KS_PIDS=()
    ((KT_FAIL == 0)) && rm -rf "$KS_RUN"
}

# ks_summary: where the logs are (when something failed), then kt_summary's
# `N passed, N failed` as the last line
ks_summary() {
    ((KT_FAIL > 0)) && [[ -d $KS_RUN ]] && echo "(logs of the servers: $KS_RUN)"
    kt_summary
}
trap ks_cleanup EXIT
trap 'ks_cleanup; exit 130' INT TERM

# ks_start ID KVMSERVER-ARGS...: start kvmserver (clean environment, cwd the
# scratch directory, stdout/stderr into $KS_DIR/out, err) in the background and
# wait (at most T_LOAD s) for its `Program '...' loaded.` line.  Sets KS_PID
# (the pid of the timeout wrapper, whose child is kvmserver), KS_DIR and
# KS_LOADED (the line, "" if none).  Returns 0 when the line came.
ks_start() {
    local id=$1
    shift
    KS_DIR=$KS_RUN/${id//[^A-Za-z0-9_.=,-]/_}
    rm -rf "$KS_DIR"
    mkdir -p "$KS_DIR"
    printf '%q ' kvmserver "$@" >"$KS_DIR/cmd"
    (
        cd "$KT_TMP" || exit 126
        exec env -i PATH="$TEST_PATH" HOME=/nonexistent LANG=C LC_ALL=C TZ=UTC \
            timeout -k 5 "$T_LIFE" "${KVM[@]}" "$@"
    ) </dev/null >"$KS_DIR/out" 2>"$KS_DIR/err" &
    KS_PID=$!
    KS_PIDS+=("$KS_PID")
    KS_LOADED=
    local end=$((SECONDS + T_LOAD)) step=0.05
    ((NESTED)) && step=0.5
    while ((SECONDS < end)); do
        ks_loaded_line "$KS_DIR/out" && return 0
        ks_alive "$KS_PID" || break
        ks_sleep $step
    done
    ks_loaded_line "$KS_DIR/out"
}

# ks_stop: stop the server started last
ks_stop() {
    ks_kill_one "$KS_PID"
    local keep=() p
    for p in "${KS_PIDS[@]}"; do
        [[ $p != "$KS_PID" ]] && keep+=("$p")
    done
    KS_PIDS=("${keep[@]}")
}

# ks_start_fail ID: report a server that did not load (with its output)
ks_start_fail() {
    local why="no 'loaded' line within ${T_LOAD}s"
    ks_alive "$KS_PID" || why="kvmserver exited before it loaded"
    {
        echo "--- command: $(cat "$KS_DIR/cmd")"
        echo "--- stdout:"
        head -n 5 "$KS_DIR/out"
        echo "--- stderr:"
        head -n 15 "$KS_DIR/err"
    } >"$KS_DIR/detail"
    kt_fail "$1" "$why" "$KS_DIR/detail"
}

# ks_check_loaded ID KIND VMS EPHEMERAL(0/1) WARMUP(0/1): the loaded line's
# fields: the wait kind, vm=N, the ephemeral word, warmup=...ms
ks_check_loaded() {
    local id=$1 kind=$2 vms=$3 eph=$4 warm=$5
    local re="^Program '[^']+' loaded\. $kind vm=$vms"
    ((eph)) && re+=" ephemeral"
    re+=" init=[0-9]+ms"
    ((warm)) && re+=" warmup=[0-9]+ms"
    re+=" rss=[0-9]+MB\$"
    if [[ $KS_LOADED =~ $re ]]; then
        kt_pass "$id"
    else
        echo "--- the line: $KS_LOADED" >"$KS_DIR/detail"
        echo "--- expected: /$re/" >>"$KS_DIR/detail"
        kt_fail "$id" "the loaded line does not match" "$KS_DIR/detail"
    fi
}

# ks_curl OUT CURL-ARGS...: curl with the per-request limit; stdout into OUT,
# stderr into OUT.err; returns curl's status
ks_curl() {
    local out=$1
    shift
    curl -sS -m "$T_REQ" "$@" >"$out" 2>"$out.err"
}

# ks_expect_body ID FILE EXPECTED [CURL-RC]: FILE holds exactly EXPECTED (printf %b)
ks_expect_body() {
    local id=$1 f=$2 want rc=${4:-0} got=
    printf -v want '%b' "$3"
    IFS= read -r -d '' got <"$f"
    if [[ $rc == 0 && $got == "$want" ]]; then
        kt_pass "$id"
        return 0
    fi
    printf '%s' "$want" >"$f.want"
    {
        [[ $rc != 0 ]] && echo "--- curl exited $rc: $(head -c 300 "$f.err" 2>/dev/null)"
        echo "--- got:"
        head -n 8 "$f"
        echo "--- expected:"
        head -n 8 "$f.want"
        ks_server_state
    } >"$f.detail"
    kt_fail "$id" "wrong response" "$f.detail"
    return 1
}

# ks_server_state: a few lines about the current server for failure details
ks_server_state() {
    if ks_alive "$KS_PID"; then
        echo "--- kvmserver is running; its stderr:"
    else
        echo "--- kvmserver has exited; its stderr:"
    fi
    tail -n 8 "$KS_DIR/err"
}

# ks_seq_close URL N: N requests, each on its own connection (`Connection:
# close`), from one curl (URL globbing); the bodies go into $KS_DIR/seq,
# compared by the caller.  Returns curl's status.
ks_seq_close() {
    ks_curl "$KS_DIR/seq" -H 'Connection: close' "$1/s[1-$2]"
}

# ks_seq_each URL-PREFIX N [SUFFIX]: N requests to URL-PREFIX<i>SUFFIX (i = 1..N), each on
# its own connection and with its own time limit (a long sequence on a loaded machine is
# bounded per request, not as a whole); the bodies go into $KS_DIR/seq.  Returns the
# status of the first curl that failed.
ks_seq_each() {
    local i
    : >"$KS_DIR/seq"
    for ((i = 1; i <= $2; i++)); do
        ks_curl "$KS_DIR/seq.one" -H 'Connection: close' "$1$i${3:-}" || return
        cat "$KS_DIR/seq.one" >>"$KS_DIR/seq"
    done
}

# ks_hclient ID PORT HCLIENT-ARGS...: run tests/clients/hclient.c (built as
# $SB/hclient); PASS when every request got the expected answer
ks_hclient() {
    local id=$1 port=$2
    shift 2
    local f=$KS_DIR/hclient.${id//[^A-Za-z0-9_.=,-]/_} line
    # no limit on the whole run: hclient stops itself when answers stop coming
    "$SB/hclient" "$port" --timeout "$T_REQ" --stall "$T_STALL" "$@" >"$f" 2>&1
    local rc=$?
    IFS= read -r line <"$f"
    if [[ $rc == 0 ]]; then
        kt_pass "$id ($line)"
        return 0
    fi
    {
        echo "--- hclient $port $* (exit $rc):"
        head -n 8 "$f"
        ks_server_state
    } >"$f.detail"
    kt_fail "$id" "${line:-hclient exited $rc}" "$f.detail"
    return 1
}

# ks_wrk ID URL SECONDS CONNECTIONS: wrk must complete requests with no socket
# errors and no non-2xx answers
ks_wrk() {
    local id=$1 url=$2 secs=$3 c=$4
    local f=$KS_DIR/wrk.${id//[^A-Za-z0-9_.=,-]/_}
    if ! command -v wrk >/dev/null 2>&1; then
        kt_fail "$id" "wrk is not installed (tools/install-deps installs it)"
        return 1
    fi
    local t=2
    ((c < 2)) && t=1
    timeout -k 5 $((secs + T_REQ + 30)) wrk -t"$t" -c"$c" -d"${secs}s" --timeout "${T_REQ}s" "$url" >"$f" 2>&1
    local rc=$? why=() reqs='' line
    while IFS= read -r line; do
        line=${line#"${line%%[! ]*}"}
        case $line in
            *" requests in "*) reqs=${line%% *} ;;
            "Socket errors"* | "Non-2xx"*) why+=("$line") ;;
        esac
    done <"$f"
    [[ $rc == 0 ]] || why=("wrk exited $rc" "${why[@]}")
    [[ -n $reqs && $reqs -gt 0 ]] || why+=("no requests completed")
    if ((${#why[@]} == 0)); then
        kt_pass "$id ($reqs requests in ${secs}s)"
        return 0
    fi
    {
        echo "--- wrk -c$c -d${secs}s $url:"
        cat "$f"
        ks_server_state
    } >"$f.detail"
    local r=${why[0]} w
    for w in "${why[@]:1}"; do r+="; $w"; done
    kt_fail "$id" "$r" "$f.detail"
    return 1
}

# ks_check_alive ID: the server is still running
ks_check_alive() {
    if ks_alive "$KS_PID"; then
        kt_pass "$1"
        return 0
    fi
    wait "$KS_PID" 2>/dev/null
    local rc=$? why
    why="kvmserver exited (status $rc)"
    # this script only signals a server in ks_stop
    ((rc == 143 || rc == 137)) && why+=" - killed by SIG$( ((rc == 143)) && echo TERM || echo KILL) from outside this test"
    ks_server_state >"$KS_DIR/detail"
    kt_fail "$1" "$why" "$KS_DIR/detail"
    return 1
}

# ks_check_quiet ID: kvmserver logged nothing (no crash, no reset for a timeout)
ks_check_quiet() {
    if [[ ! -s $KS_DIR/err ]]; then
        kt_pass "$1"
        return 0
    fi
    kt_fail "$1" "kvmserver logged $(wc -l <"$KS_DIR/err") line(s)" "$KS_DIR/err"
    return 1
}
