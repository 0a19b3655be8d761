package blas

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"testing"
)

// refGemm is the float64 reference: it returns alpha*op(A)*op(B) + beta*C (C not read when
// beta is zero) and, per element, a bound on the rounding error of a float32 computation.
func refGemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) (want, tol []float64) {
	want = make([]float64, m*n)
	tol = make([]float64, m*n)
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var s, abs float64
			for p := 0; p < k; p++ {
				ai, bi := i*lda+p, p*ldb+j
				if transA {
					ai = p*lda + i
				}
				if transB {
					bi = j*ldb + p
				}
				av, bv := a[ai], b[bi]
				x := float64(av) * float64(bv)
				s += x
				abs += math.Abs(x)
			}
			s *= float64(alpha)
			abs *= math.Abs(float64(alpha))
			if beta != 0 {
				cv := float64(beta) * float64(c[i*ldc+j])
				s += cv
				abs += math.Abs(cv)
			}
			want[i*n+j] = s
			tol[i*n+j] = float64(k+4)*0x1p-23*abs + 1e-30
		}
	}
	return want, tol
}

type gemmCase struct {
	transA, transB bool
	m, n, k        int
	padA, padB     int
	padC           int
	alpha, beta    float32
}

func (g gemmCase) String() string {
	return fmt.Sprintf("tA=%v tB=%v m=%d n=%d k=%d pads=%d,%d,%d alpha=%g beta=%g", g.transA, g.transB, g.m, g.n, g.k, g.padA, g.padB, g.padC, g.alpha, g.beta)
}

func randMatrix(r *rand.Rand, rows, cols, ld int) []float32 {
	if rows == 0 {
		return nil
	}
	x := make([]float32, (rows-1)*ld+cols)
	for i := range x {
		x[i] = float32(r.Float64()*2 - 1)
	}
	return x
}

// check runs one case through Sgemm and compares it with the reference.
func check(t *testing.T, r *rand.Rand, g gemmCase) {
	t.Helper()
	run, verify := prepare(r, g)
	run()
	verify(t)
}

// prepare draws the matrices of a case; run calls Sgemm (from any goroutine) and verify
// compares the result with the float64 reference (on the test's goroutine).
func prepare(r *rand.Rand, g gemmCase) (run func(), verify func(t *testing.T)) {
	ar, ac := g.m, g.k
	if g.transA {
		ar, ac = g.k, g.m
	}
	br, bc := g.k, g.n
	if g.transB {
		br, bc = g.n, g.k
	}
	lda, ldb, ldc := max(1, ac+g.padA), max(1, bc+g.padB), max(1, g.n+g.padC)
	a := randMatrix(r, ar, ac, lda)
	b := randMatrix(r, br, bc, ldb)
	c := randMatrix(r, g.m, g.n, ldc)
	if g.beta == 0 {
		for i := range c {
			c[i] = float32(math.NaN())
		}
	}
	// Sentinels in the padding of C must survive.
	for i := 0; i < g.m; i++ {
		for j := g.n; j < ldc && i*ldc+j < len(c); j++ {
			c[i*ldc+j] = 12345
		}
	}
	want, tol := refGemm(g.transA, g.transB, g.m, g.n, g.k, g.alpha, a, lda, b, ldb, g.beta, c, ldc)
	run = func() { Sgemm(g.transA, g.transB, g.m, g.n, g.k, g.alpha, a, lda, b, ldb, g.beta, c, ldc) }
	verify = func(t *testing.T) {
		t.Helper()
		bad := 0
		for i := 0; i < g.m; i++ {
			for j := 0; j < ldc && i*ldc+j < len(c); j++ {
				got := c[i*ldc+j]
				if j >= g.n {
					if got != 12345 {
						t.Fatalf("%s: %s: padding C[%d][%d] overwritten with %g", Backend(), g, i, j, got)
					}
					continue
				}
				w := want[i*g.n+j]
				if math.IsNaN(float64(got)) || math.Abs(float64(got)-w) > tol[i*g.n+j] {
					if bad < 5 {
						t.Errorf("%s: %s: C[%d][%d] = %g, want %g (tol %g)", Backend(), g, i, j, got, w, tol[i*g.n+j])
					}
					bad++
				}
			}
		}
		if bad > 0 {
			t.Fatalf("%s: %s: %d wrong elements", Backend(), g, bad)
		}
	}
	return run, verify
}

// backendsUnderTest yields each available backend (and each asm ISA the CPU runs) selected,
// restoring the default afterwards.
func backendsUnderTest(t *testing.T, f func(t *testing.T)) {
	t.Cleanup(func() {
		restoreAsmISA()
		if err := SetBackend("auto"); err != nil {
			t.Fatal(err)
		}
	})
	for _, name := range []string{"asm", "openblas", "go"} {
		if err := SetBackend(name); err != nil {
			t.Logf("skipping %s: %v", name, err)
			continue
		}
		if name != "asm" {
			t.Run(name, f)
			continue
		}
		for _, isa := range supportedAsmISAs() {
			useAsmISA(isa)
			if err := SetBackend("asm"); err != nil {
				t.Fatal(err)
			}
			t.Run(Backend(), f)
		}
		restoreAsmISA()
	}
}

// smallBlocks shrinks the blocking and threading thresholds so small matrices take every
// path: several K blocks, several N blocks, splits along M, N and K.
func smallBlocks(t *testing.T, threads int) {
	oldKcMax, oldKcBlock, oldL2, oldMin := kcMax, kcBlock, l2Floats, minSplit
	kcMax, kcBlock, l2Floats, minSplit = 24, 16, 16*64, 1
	SetThreads(threads)
	t.Cleanup(func() {
		kcMax, kcBlock, l2Floats, minSplit = oldKcMax, oldKcBlock, oldL2, oldMin
		SetThreads(0)
	})
}

func TestSgemmEdgeCases(t *testing.T) {
	dims := []int{1, 2, 3, 7, 16, 17, 33}
	backendsUnderTest(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(1, 2))
		for _, tA := range []bool{false, true} {
			for _, tB := range []bool{false, true} {
				for _, m := range dims {
					for _, n := range dims {
						k := dims[r.IntN(len(dims))]
						alpha := []float32{1, -0.7, 2}[r.IntN(3)]
						beta := []float32{0, 1, 0.3}[r.IntN(3)]
						check(t, r, gemmCase{tA, tB, m, n, k, r.IntN(3), r.IntN(3), r.IntN(3), alpha, beta})
					}
				}
			}
		}
	})
}

func TestSgemmBlockingAndThreads(t *testing.T) {
	for _, threads := range []int{1, 2, 3} {
		t.Run(fmt.Sprintf("threads=%d", threads), func(t *testing.T) {
			smallBlocks(t, threads)
			backendsUnderTest(t, func(t *testing.T) {
				r := rand.New(rand.NewPCG(uint64(threads), 7))
				shapes := [][3]int{
					{200, 16, 50},  // tall, skinny N: M split
					{150, 37, 61},  // odd everything
					{9, 150, 40},   // wide: N split
					{13, 21, 300},  // deep: K split
					{64, 130, 100}, // several N blocks
					{5, 5, 5},
				}
				for _, s := range shapes {
					for _, tA := range []bool{false, true} {
						for _, tB := range []bool{false, true} {
							beta := []float32{0, 1, -0.5}[r.IntN(3)]
							check(t, r, gemmCase{tA, tB, s[0], s[1], s[2], r.IntN(5), r.IntN(5), r.IntN(3), 0.9, beta})
						}
					}
				}
				for _, tA := range []bool{false, true} {
					check(t, r, gemmCase{tA, false, 203, 48, 20, 1, 0, 16, 1.5, 0})
				}
			})
		})
	}
}

func TestSgemmRandom(t *testing.T) {
	backendsUnderTest(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(3, 4))
		n := 40
		if testing.Short() {
			n = 10
		}
		for range n {
			g := gemmCase{r.IntN(2) == 0, r.IntN(2) == 0, 1 + r.IntN(120), 1 + r.IntN(90), 1 + r.IntN(400),
				r.IntN(9), r.IntN(9), r.IntN(9), float32(r.NormFloat64()), []float32{0, 1, float32(r.NormFloat64())}[r.IntN(3)]}
			check(t, r, g)
		}
	})
}

// TestSgemmAlphaZeroAndEmpty checks the paths that must not read A or B.
func TestSgemmAlphaZeroAndEmpty(t *testing.T) {
	backendsUnderTest(t, func(t *testing.T) {
		nan := float32(math.NaN())
		a := []float32{nan, nan, nan, nan}
		c := []float32{1, 2, 3, 4}
		Sgemm(false, false, 2, 2, 2, 0, a, 2, a, 2, 2, c, 2)
		for i, v := range c {
			if v != float32(2*(i+1)) {
				t.Fatalf("alpha=0, beta=2: c[%d] = %g, want %d", i, v, 2*(i+1))
			}
		}
		c = []float32{nan, nan, nan, nan}
		Sgemm(true, true, 2, 2, 0, 1, nil, 2, nil, 1, 0, c, 2)
		for i, v := range c {
			if v != 0 {
				t.Fatalf("k=0, beta=0: c[%d] = %g, want 0", i, v)
			}
		}
		Sgemm(false, false, 0, 3, 3, 1, nil, 3, make([]float32, 9), 3, 0, nil, 3)
	})
}

// TestSgemmConcurrent calls Sgemm from several goroutines at once, each call itself split
// over threads, and checks every result.
func TestSgemmConcurrent(t *testing.T) {
	smallBlocks(t, 2)
	backendsUnderTest(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(42, 99))
		var verifies []func(*testing.T)
		var wg sync.WaitGroup
		for g := range 4 {
			var runs []func()
			for range 5 {
				run, verify := prepare(r, gemmCase{g%2 == 0, g/2 == 0, 40 + r.IntN(60), 1 + r.IntN(50), 1 + r.IntN(100), 0, 1, 0, 1, 0})
				runs, verifies = append(runs, run), append(verifies, verify)
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				for _, run := range runs {
					run()
				}
			}()
		}
		wg.Wait()
		for _, verify := range verifies {
			verify(t)
		}
	})
}

func TestSgemmPanics(t *testing.T) {
	x := make([]float32, 16)
	for _, tc := range []struct {
		name string
		f    func()
		want string
	}{
		{"m<0", func() { Sgemm(false, false, -1, 2, 2, 1, x, 2, x, 2, 0, x, 2) }, "m = -1"},
		{"lda", func() { Sgemm(false, false, 2, 2, 3, 1, x, 2, x, 2, 0, x, 2) }, "lda = 2"},
		{"ldbT", func() { Sgemm(false, true, 2, 4, 3, 1, x, 3, x, 2, 0, x, 4) }, "ldb = 2"},
		{"short c", func() { Sgemm(false, false, 4, 4, 2, 1, x, 2, x, 4, 0, x[:10], 4) }, "len(c) = 10"},
		{"short a", func() { Sgemm(true, false, 4, 4, 5, 1, x, 4, x, 4, 0, x, 4) }, "len(a) = 16"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				r := recover()
				if r == nil || !strings.Contains(fmt.Sprint(r), tc.want) {
					t.Fatalf("panic %v, want one containing %q", r, tc.want)
				}
			}()
			tc.f()
		})
	}
}

func TestSetBackend(t *testing.T) {
	t.Cleanup(func() { _ = SetBackend("auto") })
	if err := SetBackend("cuda"); err == nil || !strings.Contains(err.Error(), `"cuda"`) {
		t.Fatalf("SetBackend(cuda) = %v, want an unknown-backend error", err)
	}
	if err := SetBackend("go"); err != nil || Backend() != "go" {
		t.Fatalf("SetBackend(go) = %v, Backend() = %q", err, Backend())
	}
	if err := SetBackend("asm"); err == nil {
		if !strings.HasPrefix(Backend(), "asm-") {
			t.Fatalf("after SetBackend(asm), Backend() = %q", Backend())
		}
	} else if asmBackend != nil {
		t.Fatalf("SetBackend(asm) = %v although the asm backend exists", err)
	}
	if err := SetBackend("auto"); err != nil {
		t.Fatal(err)
	}
	if want := defaultBackend().name; Backend() != want {
		t.Fatalf("auto: Backend() = %q, want %q", Backend(), want)
	}
}

func TestFromEnv(t *testing.T) {
	def := defaultBackend()
	for v, want := range map[string]string{"": def.name, "auto": def.name, " GO ": "go", "nonsense": def.name} {
		if got := fromEnv(v).name; got != want {
			t.Errorf("fromEnv(%q) = %q, want %q", v, got, want)
		}
	}
	if asmBackend != nil && fromEnv("asm") != asmBackend {
		t.Errorf("fromEnv(asm) = %q, want %q", fromEnv("asm").name, asmBackend.name)
	}
	if b, err := lookup("openblas"); err == nil && fromEnv("openblas") != b {
		t.Errorf("fromEnv(openblas) = %q", fromEnv("openblas").name)
	}
}

// TestEnvOverride runs the test binary again with SELFSUP_BLAS set and checks that the
// first call selects that backend.
func TestEnvOverride(t *testing.T) {
	if os.Getenv("SELFSUP_BLAS_CHILD") == "1" {
		fmt.Printf("backend=%s\n", Backend())
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestEnvOverride$", "-test.v")
	cmd.Env = append(os.Environ(), "SELFSUP_BLAS_CHILD=1", EnvVar+"=go")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "backend=go\n") {
		t.Fatalf("child with %s=go did not select go:\n%s", EnvVar, out)
	}
}

func TestThreads(t *testing.T) {
	t.Cleanup(func() { SetThreads(0) })
	SetThreads(3)
	if Threads() != 3 {
		t.Fatalf("Threads() = %d after SetThreads(3)", Threads())
	}
	SetThreads(-1)
	if Threads() < 1 {
		t.Fatalf("Threads() = %d after reset", Threads())
	}
}

// TestNoAllocs checks that steady-state calls of the asm and go backends do not allocate,
// threaded and not.
func TestNoAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("sync.Pool drops items at random under the race detector")
	}
	t.Cleanup(func() { _ = SetBackend("auto"); SetThreads(0) })
	r := rand.New(rand.NewPCG(5, 6))
	m, n, k := 256, 37, 300
	a, b, c := randMatrix(r, m, k, k), randMatrix(r, n, k, k), randMatrix(r, m, n, n)
	for _, name := range []string{"asm", "go"} {
		if SetBackend(name) != nil {
			continue
		}
		for _, threads := range []int{1, 2} {
			SetThreads(threads)
			// A collection empties sync.Pools and the runtime's own caches (sudogs for
			// blocking on the WaitGroup), so collect first and let a warm-up refill them;
			// nothing allocated afterwards can trigger another.
			runtime.GC()
			Sgemm(false, true, m, n, k, 1, a, k, b, k, 0, c, n)
			allocs := testing.AllocsPerRun(20, func() {
				Sgemm(false, true, m, n, k, 1, a, k, b, k, 0, c, n)
			})
			if allocs > 0 {
				t.Errorf("%s with %d threads: %v allocations per call", Backend(), threads, allocs)
			}
		}
	}
}

func ExampleSgemm() {
	// C = A·Bᵀ for A 2×3 and B 2×3 (row-major), so C is 2×2.
	a := []float32{1, 2, 3, 4, 5, 6}
	b := []float32{1, 0, 1, 0, 1, 0}
	c := make([]float32, 4)
	Sgemm(false, true, 2, 2, 3, 1, a, 3, b, 3, 0, c, 2)
	fmt.Println(c)
	// Output: [4 2 10 5]
}

// TestSgemmSerial checks, for every backend, that SgemmSerial gives Sgemm's one-thread
// bits on products that Sgemm with two threads splits along M, N and K.
func TestSgemmSerial(t *testing.T) {
	defer SetThreads(0)
	backendsUnderTest(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(9, 9))
		for _, c := range []struct{ m, n, k int }{{512, 144, 2048}, {16, 2048, 1024}, {8, 8, 40000}} {
			a, b := randMatrix(r, c.m, c.k, c.k), randMatrix(r, c.k, c.n, c.n)
			want, got := make([]float32, c.m*c.n), make([]float32, c.m*c.n)
			SetThreads(1)
			Sgemm(false, false, c.m, c.n, c.k, 1, a, c.k, b, c.n, 0, want, c.n)
			SetThreads(2)
			if !SgemmSerial(false, false, c.m, c.n, c.k, 1, a, c.k, b, c.n, 0, got, c.n) {
				if Backend() != "openblas" {
					t.Fatalf("backend %s has no serial entry", Backend())
				}
				t.Skip("OpenBLAS has no serial entry")
			}
			for i := range want {
				if got[i] != want[i] {
					t.Fatalf("%+v: element %d is %v, one-thread Sgemm gives %v", c, i, got[i], want[i])
				}
			}
		}
	})
}
