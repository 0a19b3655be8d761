package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/selfsup/selfsup/datasets"
	"github.com/selfsup/selfsup/ssl"
)

// This file is the only one that opens datasets: the rest of the command sees ssl.Dataset.

// Data source kinds, the part of --data before the colon.
const (
	dataDefault = "default"
	dataCIFAR10 = "cifar10"
	dataSTL10   = "stl10"
	dataFolder  = "folder"
)

// dataHelp documents --data (and --labels-from).
const dataHelp = `where the images come from:
  default        the 16x16 CIFAR-10 subset embedded in the module (5,000 training, 1,000 test images)
  cifar10:PATH   CIFAR-10 binary version: cifar-10-binary.tar.gz or its extracted folder
  stl10:PATH     STL-10 binary version: the stl10_binary folder (train, test and unlabeled splits)
  folder:PATH    your images: PATH/train/<class>/*.png|jpg and PATH/test/<class>/*.png|jpg,
                 optionally PATH/unlabeled/*.png|jpg (or PATH/unlabeled/<any>/*.png|jpg) to
                 pretrain on (see --size)`

// dataSource is a parsed --data value.
type dataSource struct {
	kind, path string
}

func (d dataSource) String() string {
	if d.kind == dataDefault {
		return dataDefault
	}
	return d.kind + ":" + d.path
}

// parseDataSource parses "default", "cifar10:PATH", "stl10:PATH" or "folder:PATH".
func parseDataSource(s string) (dataSource, error) {
	kind, path, hasPath := strings.Cut(s, ":")
	switch kind {
	case dataDefault:
		if hasPath {
			return dataSource{}, fmt.Errorf("%q: the embedded default set takes no path", s)
		}
		return dataSource{kind: kind}, nil
	case dataCIFAR10, dataSTL10, dataFolder:
		if path == "" {
			return dataSource{}, fmt.Errorf("%q: want %s:PATH", s, kind)
		}
		return dataSource{kind: kind, path: path}, nil
	}
	return dataSource{}, fmt.Errorf("%q: unknown data source; want default, cifar10:PATH, stl10:PATH or folder:PATH", s)
}

// experimentData is what a run trains and tests on.
type experimentData struct {
	// train is the labeled pool the label budgets index, test the test images, unlabeled
	// what the pretext task trains on (the training images themselves for CIFAR-10 and the
	// default set, as in the seed experiment).
	train, test, unlabeled ssl.Dataset
	// folds are the predefined labeled folds (STL-10's ten folds of 1,000), nil otherwise.
	folds [][]int
	// closers release memory-mapped sets.
	closers []io.Closer
}

// Close releases the datasets.
func (d *experimentData) Close() error {
	var errs []error
	for _, c := range d.closers {
		errs = append(errs, c.Close())
	}
	return errors.Join(errs...)
}

// openOptions are the loader settings taken from flags.
type openOptions struct {
	// h, w resize folder images (0: keep their size).
	h, w int
	// labeledOnly skips the unlabeled split (for the folds command).
	labeledOnly bool
}

// openData opens the datasets of src. Errors name the path and what is wrong.
func openData(src dataSource, o openOptions) (*experimentData, error) {
	d := &experimentData{}
	fail := func(err error) (*experimentData, error) {
		d.Close()
		return nil, err
	}
	if (o.h != 0 || o.w != 0) && src.kind != dataFolder {
		return nil, fmt.Errorf("--size only applies to folder:PATH, not %s", src)
	}
	switch src.kind {
	case dataDefault:
		train, err := datasets.Default(datasets.Train)
		if err != nil {
			return nil, err
		}
		test, err := datasets.Default(datasets.Test)
		if err != nil {
			return nil, err
		}
		d.train, d.test, d.unlabeled = train, test, train
	case dataCIFAR10:
		if _, err := os.Stat(src.path); err != nil {
			return nil, err
		}
		train, test, err := datasets.CIFAR10TrainTest(src.path)
		if err != nil {
			return nil, err
		}
		d.train, d.test, d.unlabeled = train, test, train
	case dataSTL10:
		if _, err := os.Stat(src.path); err != nil {
			return nil, err
		}
		open := func(split datasets.Split) (*datasets.Images, error) {
			ds, err := datasets.STL10(src.path, split)
			if err == nil {
				d.closers = append(d.closers, ds)
			}
			return ds, err
		}
		train, err := open(datasets.Train)
		if err != nil {
			return fail(err)
		}
		test, err := open(datasets.Test)
		if err != nil {
			return fail(err)
		}
		d.train, d.test, d.unlabeled = train, test, train
		if !o.labeledOnly {
			if d.unlabeled, err = open(datasets.Unlabeled); err != nil {
				return fail(err)
			}
		}
		if d.folds, err = datasets.STL10Folds(src.path); err != nil {
			return fail(err)
		}
	case dataFolder:
		if err := openFolder(d, src.path, o); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("unknown data source %q", src.kind)
	}
	return d, nil
}

// openFolder opens PATH/train and PATH/test (class folders) and, if present, PATH/unlabeled
// (flat, PATH/unlabeled/*.png|jpg, or in subfolders).
func openFolder(d *experimentData, root string, o openOptions) error {
	if st, err := os.Stat(root); err != nil {
		return err
	} else if !st.IsDir() {
		return fmt.Errorf("%s is not a folder", root)
	}
	var opts []datasets.Option
	if o.h != 0 || o.w != 0 {
		opts = append(opts, datasets.Resize(o.h, o.w))
	}
	load := func(part string) (*datasets.Images, error) {
		dir := filepath.Join(root, part)
		if _, err := os.Stat(dir); err != nil {
			return nil, fmt.Errorf("%w (want %s/train/<class>/*.png|jpg and %s/test/<class>/*.png|jpg)", err, root, root)
		}
		ds, err := datasets.ImageFolder(dir, opts...)
		if err == nil && ds.Classes() == nil {
			return nil, fmt.Errorf("%s holds images but no class subfolders: %s/<class>/*.png|jpg needs labels (put unlabeled images in %s)",
				dir, dir, filepath.Join(root, "unlabeled"))
		}
		return ds, err
	}
	train, err := load("train")
	if err != nil {
		return err
	}
	test, err := load("test")
	if err != nil {
		return err
	}
	if !slices.Equal(train.Classes(), test.Classes()) {
		return fmt.Errorf("%s has the classes %v but %s has %v: both need the same class folders",
			filepath.Join(root, "test"), test.Classes(), filepath.Join(root, "train"), train.Classes())
	}
	d.train, d.test, d.unlabeled = train, test, train
	if !o.labeledOnly {
		if _, err := os.Stat(filepath.Join(root, "unlabeled")); err == nil {
			u, err := datasets.ImageFolder(filepath.Join(root, "unlabeled"), opts...)
			if err != nil {
				return err
			}
			d.unlabeled = u
		}
	}
	return nil
}

// limitDataset returns the first n images of ds (ds itself when it has no more), keeping
// its fast path.
func limitDataset(ds ssl.Dataset, n int) (ssl.Dataset, error) {
	if n >= ds.Len() {
		return ds, nil
	}
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	return ssl.Subset(ds, idx)
}
