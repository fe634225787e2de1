/**
 * What every Tandem module stands on below the domain: the libc calls made through FFM
 * ({@link io.tandem.sys.Syscalls}: linker setup, errno capture, the Linux constants, declared
 * once), the errno vocabulary ({@link io.tandem.sys.Errno}) and the gate that rate-limits a
 * log line ({@link io.tandem.sys.RateLimitedLog}); and {@code TCP_REPAIR}
 * ({@link io.tandem.sys.TcpRepair}, {@link io.tandem.sys.TcpState},
 * {@link io.tandem.sys.RestoreCheck}), which moves an established connection to another socket
 * or host (docs/connection-survival.md). Depends on nothing of Tandem's and on no Netty;
 * {@code ha}, {@code discovery} and {@code lb-core} depend on it. See docs/data-path.md.
 */
package io.tandem.sys;
