// go-client: a stand-in for the Go quic-tun v0.0.5 client in the benchmark, built on quic-go,
// the QUIC stack quic-tun uses (Debian's golang-github-lucas-clemente-quic-go-dev). The real
// quic-tun cannot be fetched on a machine that only reaches Debian's registry; this speaks the
// same wire protocol (../shared/design/WIRE.md) with the same transport choices, so a benchmark
// of a quictun server's downloads measures what a quic-tun user would get: a quic-go receiver
// whose sender is quictun's controller.
//
//	go-client -listen-on 127.0.0.1:6800 -server-endpoint 10.77.0.2:7500 -token tcp:127.0.0.1:5201
//
// Each accepted TCP connection becomes one bidirectional stream of a single QUIC connection:
// 512 bytes of token padded with zeros, one status byte back (1: connected), then bytes both
// ways. Like the reference, the first end of stream in either direction closes the tunnel.
package main

import (
	"context"
	"crypto/tls"
	"flag"
	"io"
	"log"
	"net"
	"time"

	quic "github.com/lucas-clemente/quic-go"
)

const tokenLength = 512

func main() {
	listen := flag.String("listen-on", "127.0.0.1:6800", "TCP address the application connects to")
	server := flag.String("server-endpoint", "", "the quic-tun or quictun server, host:port")
	token := flag.String("token", "", "the token sent for every connection, e.g. tcp:127.0.0.1:5201")
	window := flag.Int64("max-window", 0, "largest receive window per stream in bytes (0: quic-go's "+
		"default, as quic-tun; the connection's is 2.5x), for experiments")
	flag.Parse()
	if *server == "" || *token == "" || len(*token) > tokenLength {
		log.Fatalf("go-client: -server-endpoint and a -token of at most %d bytes are required", tokenLength)
	}
	tlsConf := &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"quic-tun"}}
	// The reference's transport settings: keep-alive every 15 s, idle timeout 30 s.
	config := &quic.Config{KeepAlivePeriod: 15 * time.Second, MaxIdleTimeout: 30 * time.Second}
	if *window > 0 {
		config.InitialStreamReceiveWindow = uint64(*window)
		config.MaxStreamReceiveWindow = uint64(*window)
		config.InitialConnectionReceiveWindow = uint64(*window) * 5 / 2
		config.MaxConnectionReceiveWindow = uint64(*window) * 5 / 2
	}
	conn, err := quic.DialAddr(*server, tlsConf, config)
	if err != nil {
		log.Fatalf("go-client: QUIC connection to %s: %v", *server, err)
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		log.Fatalf("go-client: listen on %s: %v", *listen, err)
	}
	log.Printf("go-client: connected to %s, listening on %s", *server, *listen)
	for {
		c, err := ln.Accept()
		if err != nil {
			log.Fatalf("go-client: accept: %v", err)
		}
		go tunnel(conn, c, []byte(*token))
	}
}

func tunnel(conn quic.Connection, c net.Conn, token []byte) {
	defer c.Close()
	s, err := conn.OpenStreamSync(context.Background())
	if err != nil {
		log.Printf("go-client: open stream: %v", err)
		return
	}
	defer s.Close()
	header := make([]byte, tokenLength)
	copy(header, token)
	if _, err := s.Write(header); err != nil {
		log.Printf("go-client: send token: %v", err)
		return
	}
	status := make([]byte, 1)
	if _, err := io.ReadFull(s, status); err != nil || status[0] != 1 {
		log.Printf("go-client: server refused the tunnel (status %v, %v)", status[0], err)
		return
	}
	done := make(chan struct{}, 2)
	go func() { io.Copy(s, c); done <- struct{}{} }()
	go func() { io.Copy(c, s); done <- struct{}{} }()
	<-done
	s.CancelRead(0)
}
