package io.tandem.core.tcp;

/**
 * A kernel pipe that a spliced direction moves its bytes through (socket → pipe → socket, never
 * entering the JVM): one per direction that splices, opened on its first splice and closed with
 * the connection ({@link TcpLoop#openPipe}, {@link TcpLoop#closePipe}).
 */
final class Pipe {
    final int readFd;
    final int writeFd;

    Pipe(int readFd, int writeFd) {
        this.readFd = readFd;
        this.writeFd = writeFd;
    }
}
