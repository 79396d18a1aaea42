# syntax=docker/dockerfile:1
# peer-rendezvous images (docs/ship.md). Every RUN calls a script from scripts/ that CI (.ci/run) runs as
# well, so each build step is exercised where Docker cannot run; test/ship/dockerfile.test.ts checks this.
#
#   docker build -t peer-rendezvous .                  runtime image (default, last stage)
#   docker build --target exe -t peer-rendezvous:exe . only /peer-rendezvous, FROM scratch
#
# Drop the executable into any glibc image:
#   COPY --from=peer-rendezvous:exe /peer-rendezvous /usr/local/bin/peer-rendezvous

ARG BUILD_IMAGE=node:24-trixie
ARG RUNTIME_IMAGE=node:24-trixie-slim

# --- build: dependencies from the lock file, tsc, then the single executable ---------------------------
FROM ${BUILD_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
COPY scripts/ scripts/
RUN scripts/install-deps.sh
COPY tsconfig.json tsconfig.build.json ./
COPY bin/ bin/
COPY src/ src/
RUN scripts/build.sh
RUN scripts/build-exe.sh
RUN scripts/stage-image.sh /rootfs

# --- exe: the single executable alone, at a fixed path ------------------------------------------------
FROM scratch AS exe
COPY --from=build /src/dist/peer-rendezvous /peer-rendezvous
USER 65532:65532
ENTRYPOINT ["/peer-rendezvous"]

# --- runtime: Node 24 slim, non-root; the same executable on PATH and at /peer-rendezvous ----------------
FROM ${RUNTIME_IMAGE} AS runtime
COPY --from=build /rootfs/ /
# uid/gid 1000 is the image's `node` user; numeric so that runAsNonRoot can be verified by the kubelet.
USER 1000:1000
ENTRYPOINT ["peer-rendezvous"]
CMD ["--help"]
