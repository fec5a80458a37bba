package main

import (
	"fmt"
	"log/slog"
	"path/filepath"

	"kpos/firmware/logfile"
)

// Bounds of the firmware's logs (docs/console.md, "Logs and the disk"):
// each file rotates at logFileCap, a log with its rotated files takes at
// most logTotalCap, and no log writes into the last logReserve bytes of
// the data disk, which are the journal's.
const (
	logFileCap  = 1 << 20
	logTotalCap = 4 << 20
	logReserve  = 16 << 20
)

// logConfig is the bounds of kpos.log and of the console audit log.
func logConfig() logfile.Config {
	return logfile.Config{MaxSize: logFileCap, MaxTotal: logTotalCap, Reserve: logReserve}
}

func openLog(f flags) (*slog.Logger, *logRing, func(), error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(f.logLevel)); err != nil {
		return nil, nil, nil, fmt.Errorf("bad -log level %q", f.logLevel)
	}
	path := f.logFile
	if path == "" {
		path = filepath.Join(f.dataDir, "kpos.log")
	}
	file, err := logfile.Open(path, logConfig())
	if err != nil {
		return nil, nil, nil, fmt.Errorf("log file: %w", err)
	}
	lv := new(slog.LevelVar)
	lv.Set(level)
	ring := newLogRing(slog.NewTextHandler(file, &slog.HandlerOptions{Level: slog.LevelDebug}), lv)
	return slog.New(ring.handler()), ring, func() { file.Close() }, nil
}
