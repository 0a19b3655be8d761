package train

import (
	"math"
	"strings"
)

func nanValue() float64           { return math.NaN() }
func contains(s, sub string) bool { return strings.Contains(s, sub) }
