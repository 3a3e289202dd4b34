//go:build race

package gateway

// raceEnabled: the race detector doubles stacks and pads allocations.
const raceEnabled = true
