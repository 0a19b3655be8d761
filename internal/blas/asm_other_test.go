//go:build !amd64 || purego

package blas

func supportedAsmISAs() []string { return nil }

func restoreAsmISA() {}

func useAsmISA(string) {}
