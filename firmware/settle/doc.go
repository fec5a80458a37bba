// Package settle ends the merchant's day: it adds up the open batch per
// payment method and type, reconciles the totals with the acquirer (0500),
// uploads the batch transaction by transaction when the host disagrees
// (0320) and closes it, then prints the settlement report. Every step is
// recorded in the journal before the next one starts, so a settlement cut by
// a power loss resumes at boot where it stopped and completes exactly once.
//
// It knows the journal, the acquirer's settlement messages (through the
// small Host interface) and the report layout; it knows nothing of screens,
// keypads, menus or when the day ends (the state machine decides that).
// Card numbers reach the host through the acquirer only; logs and reports
// carry masked data.
package settle
