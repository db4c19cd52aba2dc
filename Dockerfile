# syntax=docker/dockerfile:1
# SPDX-License-Identifier: MIT
# wxpay-mock in a container (TEST ONLY keys, compiled in; never give it real credentials):
#
#   docker build -t wxpay-mock .
#   docker run --rm -p 127.0.0.1:8080:8080 wxpay-mock              # http://127.0.0.1:8080
#   docker run --rm -p 127.0.0.1:8080:8080 -v "$PWD/s.json:/s.json:ro" wxpay-mock --scenario /s.json
#
# Arguments after the image name go to wxpay-mock. Inside the container it listens on
# 0.0.0.0:8080 (--allow-remote, needed to be reachable through the port mapping); publish the
# port on 127.0.0.1 only, as above. wxpay and wxpay-conformance are in the image too
# (docker run --entrypoint wxpay-conformance ...).
#
# HEALTHCHECK: GET /__admin/health (wxpay-mock-healthcheck, bash only). With --admin-token TOKEN,
# also pass -e WXPAY_MOCK_ADMIN_TOKEN=TOKEN. Builders that write OCI image configs drop
# HEALTHCHECK: use buildah/podman build --format docker.
#
# Built with buildah 1.28 (Debian 12) on a debootstrap base tagged debian:12-slim, and run with
# runc: docs/ci.md#how-the-image-was-built-here. Not built with Docker (no engine there), not
# linted (hadolint is not packaged for Debian 12); ctest mock.healthcheck checks the HEALTHCHECK
# script and this file's COPY, HEALTHCHECK, ENTRYPOINT and EXPOSE lines.

FROM debian:12-slim AS build
WORKDIR /src
COPY . .
RUN ci/deps --build \
 && cmake --preset release -DBUILD_TESTING=OFF \
 && cmake --build --preset release -j "$(nproc)" \
 && DESTDIR=/stage cmake --install build/release --prefix /usr/local

FROM debian:12-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends libmicrohttpd12 libcjson1 libcurl4 libssl3 \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --user-group --no-create-home --shell /usr/sbin/nologin wxpay
COPY --from=build /stage/usr/local/ /usr/local/
COPY --from=build /src/mock-server/wxpay-mock-healthcheck /usr/local/bin/
RUN ldconfig
USER 10001:10001
EXPOSE 8080
# GET /__admin/health with bash's /dev/tcp (no curl in this image). With --admin-token TOKEN, also
# pass -e WXPAY_MOCK_ADMIN_TOKEN=TOKEN, or the check gets 401 and the container turns unhealthy.
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 \
  CMD ["wxpay-mock-healthcheck", "127.0.0.1:8080"]
ENTRYPOINT ["wxpay-mock", "--listen", "0.0.0.0:8080", "--allow-remote"]
