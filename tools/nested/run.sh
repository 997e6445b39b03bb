#!/usr/bin/env bash
# Runs inside the emulated machine, in the chroot (the host's root with a
# writable overlay), as root, started by tools/nested/init with stdin
# /dev/null and stdout/stderr already connected to the host.
# tools/with-kvm copies it into the ctl share (mounted at /run/with-kvm)
# next to the files it reads:
#   env   the caller's environment, NUL-separated NAME=VALUE entries
#   args  the command and its arguments, NUL-separated
#   cwd   the caller's working directory (exact bytes, no newline)
#   ids   "UID GID GROUPS" of the caller (GROUPS comma-separated)
# Exits with the command's status (init passes it on to the host).
set -u
ctl=/run/with-kvm

mapfile -d '' env_list <"$ctl/env"
mapfile -d '' argv <"$ctl/args"
cwd=$(cat "$ctl/cwd"; echo x) && cwd=${cwd%x}
read -r uid gid groups <"$ctl/ids"

# The guest clock starts from the emulated RTC, whole seconds, so it lags
# the host by up to a second: files the host side creates (everything in the
# shares) would look newer than "now" (make warns about clock skew). A file
# created on the share carries the host's current time; copy it exactly.
if touch "$ctl/clock" 2>/dev/null; then
    date -s "@$(stat -c %.9Y "$ctl/clock")" >/dev/null 2>&1
fi

cd -- "$cwd" || {
    echo "with-kvm: cannot enter $cwd inside the emulated machine" >&2
    exit 125
}

# Say plainly when the command does not exist (instead of env's message),
# looking it up the way env will: in the caller's PATH.
caller_path=
for kv in "${env_list[@]}"; do
    [[ $kv == PATH=* ]] && caller_path=${kv#PATH=}
done
if [[ ${argv[0]} != */* ]] && ! PATH=$caller_path type -P -- "${argv[0]}" >/dev/null; then
    echo "with-kvm: ${argv[0]}: command not found inside the emulated machine" >&2
    exit 127
fi

# Same user as the caller (the files in the rw shares stay theirs), and
# exactly the caller's environment: `env -i` drops what init had set and
# copies the entries byte for byte, even ones bash could not `export`.
as_caller=()
if [[ $uid != 0 ]]; then
    as_caller=(setpriv "--reuid=$uid" "--regid=$gid")
    if [[ -n $groups ]]; then
        as_caller+=("--groups=$groups")
    else
        as_caller+=(--clear-groups)
    fi
    as_caller+=(--)
fi
exec "${as_caller[@]}" env -i -- "${env_list[@]}" "${argv[@]}"
