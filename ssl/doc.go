// Package ssl holds the contracts of selfsup and the fluent pipeline that composes them.
//
// A Dataset is a set of RGB images with optional labels. Every dataset in package datasets
// implements it, and so can a caller's own type. Training reads images through the fast path
// BatchFiller when a dataset offers it and through Image otherwise; FillBatch hides the
// difference.
package ssl
