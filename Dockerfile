# Dockerfile - kvmserver serving examples/counter.c in ephemeral request VMs, on Debian 12.
#
#   docker build -t kvmserver .
#   docker run --rm --device /dev/kvm -p 8080:8080 kvmserver
#
# /dev/kvm is the only device it needs (no --privileged).  For your own server, copy the
# program into the image and change CMD (the permission flags say what it may touch).
# One container is one kvmserver: give it a CPU set (--cpuset-cpus) and --threads 0 runs
# one request VM per CPU it may use; see docs/deploy.md for sizing.

FROM debian:12 AS build
RUN apt-get update -qq \
 && apt-get install -y -qq --no-install-recommends gcc make libc6-dev libsystemd-dev binutils \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY Makefile ./
COPY src ./src
COPY tools ./tools
COPY examples ./examples
RUN make -j"$(nproc)" \
 && gcc -O2 -o build/counter examples/counter.c

FROM debian:12-slim
RUN apt-get update -qq \
 && apt-get install -y -qq --no-install-recommends libsystemd0 \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /src/build/kvmserver /usr/local/bin/kvmserver
COPY --from=build /src/build/counter /usr/local/bin/counter
EXPOSE 8080
# SIGTERM (docker stop, a Kubernetes pod's termination) drains: no new connections, the
# ones in flight finish within --drain-timeout, exit 0.  Keep it below the orchestrator's
# grace period (docker stop: 10 s by default; Kubernetes: 30 s).
STOPSIGNAL SIGTERM
CMD ["/usr/local/bin/kvmserver", "--ephemeral", "--threads", "0", "--drain-timeout", "8", "--allow-listen=0.0.0.0:8080", "run", "/usr/local/bin/counter", "0.0.0.0:8080"]
