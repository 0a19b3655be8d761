package optim

import (
	"fmt"

	"github.com/selfsup/selfsup/internal/device"
	"github.com/selfsup/selfsup/nn"
)

// NonFiniteStepError reports a NaN or infinite loss or gradient of one training step.
// The pipeline wraps it in an ssl.NonFiniteError that names the stage and epoch.
type NonFiniteStepError struct {
	Step  int64   // the training step
	What  string  // "loss" or "gradient of <parameter name>"
	Index int     // element index within the gradient (0 for the loss)
	Value float32 // the offending value
}

// Error says which step met which non-finite number.
func (e *NonFiniteStepError) Error() string {
	if e.What == "loss" {
		return fmt.Sprintf("optim: step %d: loss is %v", e.Step, e.Value)
	}
	return fmt.Sprintf("optim: step %d: %s is %v at element %d", e.Step, e.What, e.Value, e.Index)
}

// CheckFinite returns a *NonFiniteStepError naming step if loss or any element of grads is
// NaN or infinite, and nil otherwise. params, when not nil, must be as long as grads and
// names the gradients in the error; nil gradients are skipped. It allocates nothing
// unless it finds a bad value.
func CheckFinite(step int64, loss float32, params []*nn.Param, grads [][]float32) error {
	if !finite32(loss) {
		return &NonFiniteStepError{Step: step, What: "loss", Value: loss}
	}
	if params != nil && len(params) != len(grads) {
		return fmt.Errorf("optim: CheckFinite: %d parameters but %d gradients", len(params), len(grads))
	}
	for i, g := range grads {
		if ok, _ := (device.CPU{}).AllFinite(g); ok {
			continue
		}
		for j, v := range g {
			if !finite32(v) {
				what := fmt.Sprintf("gradient %d", i)
				if params != nil && params[i] != nil {
					what = fmt.Sprintf("gradient of %q", params[i].Name)
				}
				return &NonFiniteStepError{Step: step, What: what, Index: j, Value: v}
			}
		}
	}
	return nil
}
