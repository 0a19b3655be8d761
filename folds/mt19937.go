package folds

import "fmt"

// The generator below reproduces the part of numpy's legacy numpy.random.RandomState that
// scikit-learn's shuffled splitters use: MT19937 seeded from one 32-bit integer (init_genrand,
// which is what RandomState(int) does), 32- and 64-bit draws, bounded integers by masked
// rejection sampling (random_interval) and the in-place shuffle of a one-dimensional array.
// Go's math/rand draws different numbers, so it cannot stand in for it.

const (
	mtN         = 624
	mtM         = 397
	mtMatrixA   = 0x9908b0df
	mtUpperMask = 0x80000000
	mtLowerMask = 0x7fffffff

	// maxSeed is the largest seed numpy's RandomState accepts.
	maxSeed = 1<<32 - 1
)

// mt19937 is the Mersenne Twister state of numpy's legacy RandomState.
type mt19937 struct {
	key [mtN]uint32
	pos int
}

// checkSeed reports whether numpy's RandomState would accept seed; param names the field
// in the error message.
func checkSeed(param string, seed int64) error {
	if seed < 0 || seed > maxSeed {
		return fmt.Errorf("%s=%d is out of range: numpy's RandomState takes seeds in [0, %d]", param, seed, int64(maxSeed))
	}
	return nil
}

// newMT19937 returns the generator of numpy.random.RandomState(seed). The seed must be in
// [0, 2^32-1] (see checkSeed); only its low 32 bits are used.
func newMT19937(seed uint32) *mt19937 {
	r := &mt19937{}
	r.key[0] = seed
	for i := 1; i < mtN; i++ {
		prev := r.key[i-1]
		r.key[i] = 1812433253*(prev^(prev>>30)) + uint32(i)
	}
	r.pos = mtN
	return r
}

// generate refills the state with the next 624 words.
func (r *mt19937) generate() {
	k := &r.key
	var i int
	for ; i < mtN-mtM; i++ {
		y := k[i]&mtUpperMask | k[i+1]&mtLowerMask
		k[i] = k[i+mtM] ^ y>>1 ^ (-(y & 1) & mtMatrixA)
	}
	for ; i < mtN-1; i++ {
		y := k[i]&mtUpperMask | k[i+1]&mtLowerMask
		k[i] = k[i+mtM-mtN] ^ y>>1 ^ (-(y & 1) & mtMatrixA)
	}
	y := k[mtN-1]&mtUpperMask | k[0]&mtLowerMask
	k[mtN-1] = k[mtM-1] ^ y>>1 ^ (-(y & 1) & mtMatrixA)
	r.pos = 0
}

// uint32 returns the next tempered 32-bit output (numpy's mt19937_next32).
func (r *mt19937) uint32() uint32 {
	if r.pos == mtN {
		r.generate()
	}
	y := r.key[r.pos]
	r.pos++
	y ^= y >> 11
	y ^= y << 7 & 0x9d2c5680
	y ^= y << 15 & 0xefc60000
	y ^= y >> 18
	return y
}

// uint64 returns two 32-bit outputs joined, the first one high (numpy's mt19937_next64).
func (r *mt19937) uint64() uint64 {
	hi := uint64(r.uint32())
	return hi<<32 | uint64(r.uint32())
}

// interval returns a uniform integer in [0, max] the way numpy's random_interval does: draw
// (32 bits when max fits in 32 bits, 64 otherwise) AND the smallest all-ones mask >= max,
// rejecting values above max.
func (r *mt19937) interval(max uint64) uint64 {
	if max == 0 {
		return 0
	}
	mask := max
	mask |= mask >> 1
	mask |= mask >> 2
	mask |= mask >> 4
	mask |= mask >> 8
	mask |= mask >> 16
	mask |= mask >> 32
	if max <= 0xffffffff {
		for {
			if v := uint64(r.uint32()) & mask; v <= max {
				return v
			}
		}
	}
	for {
		if v := r.uint64() & mask; v <= max {
			return v
		}
	}
}

// shuffle permutes x in place exactly as RandomState.shuffle does for a one-dimensional
// array: for i from len(x)-1 down to 1, swap x[i] with x[interval(i)].
func (r *mt19937) shuffle(x []int) {
	for i := len(x) - 1; i > 0; i-- {
		j := r.interval(uint64(i))
		x[i], x[j] = x[j], x[i]
	}
}
