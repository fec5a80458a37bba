//go:build !durable_skipdirsync

package durable

// skipDirSync is false in every real build: Commit syncs the directory.
const skipDirSync = false
