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
# NOT BUILT where it was written: that machine has a docker client but no Docker engine, and
# hadolint is not packaged for Debian 12 (apt-cache search hadolint finds nothing), so it was not
# linted either. Checked instead, on Debian 12: the builder's commands (ci/deps; cmake --preset
# release -DBUILD_TESTING=OFF; build; cmake --install with DESTDIR) run by hand in a scratch
# directory; the runtime package names and versions with apt-cache policy (libmicrohttpd12
# 0.9.75-6, libcjson1 1.7.15, libcurl4 7.88.1, libssl3 3.0); that these cover every library
# the three binaries need (ldd + dpkg -S; libgnutls30, for --https, comes with libmicrohttpd12).

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
RUN ldconfig
USER 10001:10001
EXPOSE 8080
ENTRYPOINT ["wxpay-mock", "--listen", "0.0.0.0:8080", "--allow-remote"]
