//go:build durable_skipdirsync

package durable

// skipDirSync, set only by the build tag durable_skipdirsync (TEST ONLY),
// makes Commit leave out the fsync of the directory after the rename: a
// deliberately broken build, which the HIL suite's lossy power-cut campaign
// must catch losing files (tools/hil, TestLossyCampaignCatchesSkippedDirSync).
const skipDirSync = true
