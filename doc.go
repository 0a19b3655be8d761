// Package selfsup is a library for self-supervised learning on images.
//
// The work happens in its sub-packages: ssl holds the contracts (Dataset, PretextTask,
// Backbone, Transfer) and the fluent pipeline; datasets loads image sets; folds makes
// scikit-learn-exact label splits; backbone, pretext and contrastive provide models and
// tasks; nn holds the layers and losses a custom head is built from.
package selfsup
