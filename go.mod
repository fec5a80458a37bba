module kpos

go 1.26.8

require (
	github.com/BurntSushi/toml v1.6.0 // indirect
	github.com/blackjack/webcam v0.6.1 // indirect
	github.com/creack/pty v1.1.24 // indirect
	github.com/ebfe/scard v0.0.0-20241214075232-7af069cabc25 // indirect
	github.com/emmansun/gmsm v0.44.0 // indirect
	github.com/hanwen/go-fuse/v2 v2.12.1 // indirect
	github.com/jonboulle/clockwork v0.5.0 // indirect
	github.com/makiuchi-d/gozxing v0.1.1 // indirect
	github.com/moov-io/bertlv v0.1.0 // indirect
	github.com/moov-io/iso8583 v0.23.2 // indirect
	github.com/moov-io/pinblock v0.0.0-20241211163540-59484be0a633 // indirect
	github.com/warthog618/modem v0.4.0 // indirect
	github.com/yerden/go-util v1.1.4 // indirect
	go.bug.st/serial v1.8.0 // indirect
	go.etcd.io/bbolt v1.4.3 // indirect
	golang.org/x/sys v0.49.0 // indirect
	golang.org/x/term v0.47.0 // indirect
	golang.org/x/text v0.43.0 // indirect
	golang.org/x/xerrors v0.0.0-20200804184101-5ec99f83aff1 // indirect
	periph.io/x/conn/v3 v3.7.3 // indirect
	periph.io/x/host/v3 v3.8.5 // indirect
)
