# shellcheck shell=bash
# tests/vm/lib.sh - shared by the tests/vm/*-tests scripts (sourced, not run).
#
# Sets up, relative to the repository root (which becomes the cwd):
#   BUILD      build directory (env BUILD, default "build"), BUILD_ABS its absolute path
#   KVM        array: the kvmserver command (env KVMSERVER, default $BUILD_ABS/kvmserver;
#              may be several words, e.g. KVMSERVER="tests/vm/my-wrapper --flag")
#   RUN_TIMEOUT  seconds allowed per program run (env, default 60 times KT_SLOW)
#   KT_SLOW    the machine's slowness factor (kt_calibrate), >= 1
#   TEST_PATH  the PATH that guests and native runs get
# and the helpers below.  Every script prints `PASS name` / `FAIL name: reason`
# lines and ends with `N passed, N failed` (kt_summary).

KT_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$KT_ROOT" || exit 1

BUILD=${BUILD:-build}
mkdir -p "$BUILD"
BUILD_ABS=$(cd "$BUILD" && pwd)
# KT_SLOW: how much slower than a quiet machine this one runs now (at least 1), from a
# fixed shell loop timed once (~0.1 s on a quiet 2-core machine): the time limits below
# and in serverlib.sh are multiplied by it, so a loaded machine gets longer limits.  Env
# KVMSERVER_TEST_SLOW sets it instead.  Limits are safety nets against hangs; the tests
# check progress, not speed.
kt_calibrate() {
    local t0 t1 i
    t0=${EPOCHREALTIME/./}
    for ((i = 0; i < 50000; i++)); do :; done
    t1=${EPOCHREALTIME/./}
    local ref=100000
    # tools/with-kvm's emulated machine is ~40x slower, which its own limits allow for
    [[ ${KVMSERVER_NESTED_GUEST:-} == 1 ]] && ref=4000000
    awk -v us=$((t1 - t0)) -v ref=$ref 'BEGIN { f = us / ref; if (f < 1) f = 1; if (f > 50) f = 50; print int(f + 0.999) }'
}
KT_SLOW=${KVMSERVER_TEST_SLOW:-$(kt_calibrate)}
[[ $KT_SLOW =~ ^[0-9]+$ && $KT_SLOW -ge 1 ]] || KT_SLOW=1
RUN_TIMEOUT=${RUN_TIMEOUT:-$((60 * KT_SLOW))}
TEST_PATH=/usr/local/bin:/usr/bin:/bin
CC=${CC:-gcc}

read -r -a KVM <<<"${KVMSERVER:-$BUILD_ABS/kvmserver}"
# KVMSERVER_SYSCALL_PATH=trap|ring|auto: every kvmserver run takes that --syscall-path
# (tests/vm/run-all runs the guest and server tests once more with each path forced).
[[ -n ${KVMSERVER_SYSCALL_PATH:-} ]] && KVM+=(--syscall-path="$KVMSERVER_SYSCALL_PATH")
# Runs happen in a scratch directory: make a relative command path absolute.
if [[ ${KVM[0]} == */* && ${KVM[0]} != /* ]]; then
    KVM[0]=$KT_ROOT/${KVM[0]}
fi

# kt_kvm_supports OPTION: does `kvmserver --help` mention OPTION?
kt_kvm_supports() {
    "${KVM[@]}" --help 2>&1 | grep -q -- "$1"
}

# No core files from the deliberate crashes.
ulimit -c 0 2>/dev/null

KT_PASS=0
KT_FAIL=0

kt_pass() {
    echo "PASS $1"
    KT_PASS=$((KT_PASS + 1))
}

# kt_fail NAME REASON [DETAIL-FILE]: the detail (diff, stderr) is shown indented,
# at most 30 lines.
kt_fail() {
    echo "FAIL $1: $2"
    if [[ -n ${3:-} && -s $3 ]]; then
        head -n 30 "$3" | sed 's/^/    /'
        local n
        n=$(wc -l <"$3")
        ((n > 30)) && echo "    ... ($((n - 30)) more lines)"
    fi
    KT_FAIL=$((KT_FAIL + 1))
}

kt_summary() {
    echo "$KT_PASS passed, $KT_FAIL failed"
    [[ $KT_FAIL -eq 0 ]]
}

# kt_kvm_ok: is the kvmserver command runnable at all?
kt_kvm_ok() {
    if [[ ${KVM[0]} == */* ]]; then
        [[ -x ${KVM[0]} ]]
    else
        command -v "${KVM[0]}" >/dev/null 2>&1
    fi
}

# kt_compile SRC OUT VARIANT [EXTRA-GCC-ARGS...]: build a guest (static or
# static-pie) unless OUT is newer than SRC.  The compiler's output goes to OUT.log.
kt_compile() {
    local src=$1 out=$2 variant=$3
    shift 3
    if [[ -x $out && $out -nt $src ]]; then
        return 0
    fi
    local mode
    case $variant in
        static) mode=(-static -fno-pie -no-pie) ;;
        static-pie) mode=(-static-pie -fPIE) ;;
        dynamic) mode=() ;;
        *)
            echo "unknown variant '$variant'" >"$out.log"
            return 1
            ;;
    esac
    mkdir -p "$(dirname "$out")"
    rm -f "$out"
    "$CC" "${mode[@]}" -O1 -g -Wall -o "$out.tmp" "$src" "$@" >"$out.log" 2>&1 &&
        mv -f "$out.tmp" "$out"
}

# kt_run OUTDIR STDIN TIMEOUT CMD...: run CMD with a clean environment (plus the
# NAME=value words in the array KT_ENV), stdin from the file STDIN, stdout into
# a pipe, in the scratch directory, killed after TIMEOUT seconds.  Leaves
# OUTDIR/{out,err,rc,secs}, and OUTDIR/timedout when the time limit hit (rc is
# then 124 or 137; a program that itself exits 124 is not mistaken for that).
kt_run() {
    local dir=$1 in=$2 t=$3 t0 t1
    shift 3
    mkdir -p "$dir"
    rm -f "$dir/timedout"
    t0=$(date +%s%N)
    (
        cd "$KT_TMP" || exit 126
        exec env -i PATH="$TEST_PATH" HOME=/nonexistent LANG=C LC_ALL=C TZ=UTC \
            "${KT_ENV[@]}" timeout -k 5 "$t" "$@" <"$in" 2>"$dir/err"
    ) | cat >"$dir/out"
    local rc=${PIPESTATUS[0]}
    t1=$(date +%s%N)
    echo "$rc" >"$dir/rc"
    local ms=$(((t1 - t0) / 1000000))
    printf '%d.%03d\n' $((ms / 1000)) $((ms % 1000)) >"$dir/secs"
    if [[ ($rc == 124 || $rc == 137) && $(((t1 - t0) / 1000000000)) -ge $t ]]; then
        touch "$dir/timedout"
    fi
}

KT_ENV=()
KT_TMP=$BUILD_ABS/tests/tmp
# Inside tools/with-kvm's emulated machine the build directory is a 9p share: scratch
# files go to the machine's own tmpfs instead (tools/nested/init mounts it).
[[ ${KVMSERVER_NESTED_GUEST:-} == 1 && -d /run/kvmserver-scratch ]] && KT_TMP=/run/kvmserver-scratch/tests
mkdir -p "$KT_TMP"
