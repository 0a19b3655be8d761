package main

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/selfsup/selfsup/ssl"
)

// TestConfigErrorNamesDivergence checks that a diverged stage is reported with the flags
// that change it, not as an unexplained bad configuration, and stays testable.
func TestConfigErrorNamesDivergence(t *testing.T) {
	pre := fmt.Errorf("wrapped: %w", &ssl.NonFiniteError{Stage: "pretrain", Epoch: 1, What: "training loss at step 4", Value: math.Inf(1)})
	err := configError(pre, runOptions{})
	var nf *ssl.NonFiniteError
	if !errors.As(err, &nf) || !strings.Contains(err.Error(), "pretraining diverged") || !strings.Contains(err.Error(), "--pretrain-lr") {
		t.Errorf("pretraining: %v", err)
	}
	down := &ssl.DivergedError{Stage: ssl.MethodSSL, NLabels: 250, Epoch: 3, Loss: 1e9, Start: 2, Limit: 200}
	if err := configError(down, runOptions{}); !strings.Contains(err.Error(), "downstream run diverged") || !strings.Contains(err.Error(), "--lr") || !errors.As(err, new(*ssl.DivergedError)) {
		t.Errorf("downstream: %v", err)
	}
}
