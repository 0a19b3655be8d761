package ops

import (
	"fmt"
	"strconv"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// matMulOp is c = alpha·op(a)·op(b) (+ bias on every row).
type matMulOp struct {
	base
	transA, transB bool
	m, n, inner    int
	alpha          float32
	hasBias        bool
}

// MatMul returns alpha·op(a)·op(b) for 2-D a and b, where op transposes when the matching
// flag is set, plus bias [n] added to every row when bias is non-nil. A dense layer is
// MatMul(x, kernel, bias, false, false, 1); a similarity matrix of the rows of z is
// MatMul(z, z, nil, false, true, 1/temperature).
func MatMul(a, b, bias *G.Node, transA, transB bool, alpha float32) (*G.Node, error) {
	if err := checkFloat32("matmul input 0", a); err != nil {
		return nil, err
	}
	if err := checkFloat32("matmul input 1", b); err != nil {
		return nil, err
	}
	as, bs := a.Shape(), b.Shape()
	if as.Dims() != 2 || bs.Dims() != 2 {
		return nil, fmt.Errorf("matMul: inputs must be 2-D, got %v and %v", as, bs)
	}
	m, k := as[0], as[1]
	if transA {
		m, k = k, m
	}
	k2, n := bs[0], bs[1]
	if transB {
		k2, n = n, k2
	}
	if k != k2 {
		return nil, fmt.Errorf("matMul: inner dimensions differ: %v%s × %v%s", as, tmark(transA), bs, tmark(transB))
	}
	op := &matMulOp{transA: transA, transB: transB, m: m, n: n, inner: k, alpha: alpha, hasBias: bias != nil}
	ins := []tensor.Shape{as, bs}
	children := []*G.Node{a, b}
	if bias != nil {
		if err := checkFloat32("matmul bias", bias); err != nil {
			return nil, err
		}
		if !sameShape(bias.Shape(), tensor.Shape{n}) {
			return nil, fmt.Errorf("matMul: bias has shape %v, want [%d]", bias.Shape(), n)
		}
		ins = append(ins, tensor.Shape{n})
		children = append(children, bias)
	}
	op.base = newBase(op, "matMul", fmt.Sprintf("tA=%v,tB=%v,alpha=%s", transA, transB, strconv.FormatFloat(float64(alpha), 'g', -1, 32)),
		false, tensor.Shape{m, n}, ins...)
	return apply(op, children...)
}

func tmark(t bool) string {
	if t {
		return "ᵀ"
	}
	return ""
}

func (op *matMulOp) run(out []float32, in [][]float32) error {
	var bias []float32
	if op.hasBias {
		bias = in[2]
	}
	return op.kern.MatMul(op.transA, op.transB, op.m, op.n, op.inner, op.alpha, in[0], in[1], bias, out)
}

// DiffWRT implements gorgonia.SDOp.
func (op *matMulOp) DiffWRT(n int) []bool { return trues(n) }

// SymDiff implements gorgonia.SDOp; the gradients are matrix products too.
func (op *matMulOp) SymDiff(inputs G.Nodes, output, grad *G.Node) (G.Nodes, error) {
	a, b, al := inputs[0], inputs[1], op.alpha
	var da, db *G.Node
	var err error
	switch {
	case !op.transA && !op.transB: // C = A·B
		if da, err = MatMul(grad, b, nil, false, true, al); err == nil {
			db, err = MatMul(a, grad, nil, true, false, al)
		}
	case op.transA && !op.transB: // C = Aᵀ·B, A stored [k,m]
		if da, err = MatMul(b, grad, nil, false, true, al); err == nil {
			db, err = MatMul(a, grad, nil, false, false, al)
		}
	case !op.transA && op.transB: // C = A·Bᵀ, B stored [n,k]
		if da, err = MatMul(grad, b, nil, false, false, al); err == nil {
			db, err = MatMul(grad, a, nil, true, false, al)
		}
	default: // C = Aᵀ·Bᵀ
		if da, err = MatMul(b, grad, nil, true, true, al); err == nil {
			db, err = MatMul(grad, a, nil, true, true, al)
		}
	}
	if err != nil {
		return nil, err
	}
	res := G.Nodes{da, db}
	if op.hasBias {
		dbias, err := ChannelSum(grad)
		if err != nil {
			return nil, err
		}
		res = append(res, dbias)
	}
	return res, nil
}
