// Command e2eimages writes the test images that the focused upstream conformance specs run as
// one `docker save` archive, under the exact names e2e.test asks for (from its own package
// k8s.io/kubernetes/test/utils/image), for `skiff image import`. None of them can be pulled here,
// so each is built from what is on this machine:
//
//   - agnhost (every version e2e.test names): the agnhost binary built from
//     k8s.io/kubernetes/test/images/agnhost of this module, as /agnhost (and /agnhost-2), on the
//     busybox root file system below, with /localhost.crt, /localhost.key and /uploads;
//     entrypoint /agnhost, command pause, as upstream's.
//   - busybox (every version): Debian's static busybox with a link per applet, and nettool (Skiff's
//     test/images/nettool) as wget, nc, nslookup and curl, which busybox-static lacks or crashes in.
//   - nginx (every version): agnhost netexec serving HTTP on port 80; specs that use nginx only
//     need a web server there.
//   - pause: Skiff's test/images/pause binary as /pause.
//   - sample-apiserver: k8s.io/sample-apiserver (built by ../images, the module of the Aggregator
//     spec's images) as /sample-apiserver on the busybox file system; entrypoint
//     /sample-apiserver, as upstream's test/images/sample-apiserver.
//   - etcd: the etcd server (../images/etcd) as /usr/local/bin/etcd on the busybox file system, as
//     registry.k8s.io/etcd; the Aggregator spec runs it by that path.
//
// Usage: e2eimages -o FILE.tar -agnhost BIN -nettool BIN -pause BIN -porter DIR
// -sample-apiserver BIN -etcd BIN [-busybox /bin/busybox];
// e2eimages -list prints every image name e2e.test knows, by its id.
package main

import (
	"archive/tar"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	imageutils "k8s.io/kubernetes/test/utils/image"
)

func main() {
	var o options
	flag.StringVar(&o.out, "o", "", "Output archive (docker save format).")
	flag.StringVar(&o.agnhost, "agnhost", "", "Static agnhost binary.")
	flag.StringVar(&o.nettool, "nettool", "", "Static nettool binary (wget, nc, nslookup).")
	flag.StringVar(&o.pause, "pause", "", "Static pause binary.")
	flag.StringVar(&o.porter, "porter", "", "Directory with agnhost's localhost.crt and localhost.key (upstream's test/images/agnhost/porter), copied to / of the agnhost image as its Dockerfile does.")
	flag.StringVar(&o.sampleAPIServer, "sample-apiserver", "", "Static k8s.io/sample-apiserver binary.")
	flag.StringVar(&o.etcd, "etcd", "", "Static etcd server binary.")
	flag.StringVar(&o.busybox, "busybox", "/bin/busybox", "Static busybox binary (Debian's busybox-static).")
	list := flag.Bool("list", false, "Print the name of every image e2e.test knows, by its id, and exit.")
	flag.Parse()
	if *list {
		printNames(os.Stdout)
		return
	}
	if err := o.run(); err != nil {
		fmt.Fprintln(os.Stderr, "e2eimages:", err)
		os.Exit(1)
	}
}

type options struct {
	out, agnhost, nettool, pause, busybox, porter string
	sampleAPIServer, etcd                         string
}

// printNames prints "ID NAME" for every image e2e.test knows.
func printNames(w io.Writer) {
	var lines []string
	for id, c := range imageutils.GetImageConfigs() {
		lines = append(lines, fmt.Sprintf("%d %s", id, c.GetE2EImage()))
	}
	sort.Strings(lines)
	fmt.Fprintln(w, strings.Join(lines, "\n"))
}

func (o options) run() error {
	if o.out == "" || o.agnhost == "" || o.nettool == "" || o.pause == "" || o.porter == "" ||
		o.sampleAPIServer == "" || o.etcd == "" {
		return errors.New("-o, -agnhost, -nettool, -pause, -porter, -sample-apiserver and -etcd are required")
	}
	read := func(path string) ([]byte, error) {
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("reading binary: %w", err)
		}
		return b, nil
	}
	agnhost, err := read(o.agnhost)
	if err != nil {
		return err
	}
	nettool, err := read(o.nettool)
	if err != nil {
		return err
	}
	pause, err := read(o.pause)
	if err != nil {
		return err
	}
	sampleAPIServer, err := read(o.sampleAPIServer)
	if err != nil {
		return err
	}
	etcd, err := read(o.etcd)
	if err != nil {
		return err
	}
	busybox, err := read(o.busybox)
	if err != nil {
		return fmt.Errorf("%w (install busybox-static: hack/install-runtime.sh)", err)
	}
	applets, err := busyboxApplets(o.busybox)
	if err != nil {
		return err
	}
	base, err := layer(busyboxFiles(busybox, applets, nettool))
	if err != nil {
		return err
	}
	agnhostFiles := []file{
		{path: "agnhost", mode: 0o755, data: agnhost},
		{path: "agnhost-2", mode: fs.ModeSymlink | 0o777, link: "agnhost"},
		{path: "uploads", mode: fs.ModeDir | 0o755},
	}
	// The StatefulSet specs probe test-webserver for /localhost.crt.
	for _, name := range []string{"localhost.crt", "localhost.key"} {
		b, err := read(filepath.Join(o.porter, name))
		if err != nil {
			return err
		}
		agnhostFiles = append(agnhostFiles, file{path: name, mode: 0o644, data: b})
	}
	agnhostLayer, err := layer(agnhostFiles)
	if err != nil {
		return err
	}
	pauseLayer, err := layer([]file{{path: "pause", mode: 0o755, data: pause}})
	if err != nil {
		return err
	}
	sampleAPIServerLayer, err := layer([]file{{path: "sample-apiserver", mode: 0o755, data: sampleAPIServer}})
	if err != nil {
		return err
	}
	etcdLayer, err := layer([]file{{path: "usr/local/bin/etcd", mode: 0o755, data: etcd}})
	if err != nil {
		return err
	}
	path := "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
	busyboxImg, err := image(config{Cmd: []string{"sh"}, Env: []string{path}}, base)
	if err != nil {
		return err
	}
	agnhostImg, err := image(config{Entrypoint: []string{"/agnhost"}, Cmd: []string{"pause"}, Env: []string{path}}, base, agnhostLayer)
	if err != nil {
		return err
	}
	nginxImg, err := image(config{Entrypoint: []string{"/agnhost", "netexec", "--http-port=80", "--udp-port=-1"}, Env: []string{path}}, base, agnhostLayer)
	if err != nil {
		return err
	}
	pauseImg, err := image(config{Entrypoint: []string{"/pause"}}, pauseLayer)
	if err != nil {
		return err
	}
	sampleAPIServerImg, err := image(config{Entrypoint: []string{"/sample-apiserver"}, Env: []string{path}}, base, sampleAPIServerLayer)
	if err != nil {
		return err
	}
	etcdImg, err := image(config{Cmd: []string{"/usr/local/bin/etcd"}, Env: []string{path}}, base, etcdLayer)
	if err != nil {
		return err
	}
	byRepo := map[string]v1.Image{
		repository(imageutils.GetE2EImage(imageutils.APIServer)): sampleAPIServerImg,
		repository(imageutils.GetE2EImage(imageutils.Etcd)):      etcdImg,
		e2eRegistry + "agnhost":                                  agnhostImg,
		e2eRegistry + "busybox":                                  busyboxImg,
		e2eRegistry + "nginx":                                    nginxImg,
		repository(imageutils.GetPauseImageName()):               pauseImg,
	}
	refs := map[name.Reference]v1.Image{}
	var names []string
	for _, c := range imageutils.GetImageConfigs() {
		n := c.GetE2EImage()
		img, ok := byRepo[repository(n)]
		if !ok {
			continue
		}
		ref, err := name.ParseReference(n)
		if err != nil {
			return fmt.Errorf("image name %q: %w", n, err)
		}
		refs[ref] = img
		names = append(names, n)
	}
	sort.Strings(names)
	fmt.Println(strings.Join(names, "\n"))
	if err := tarball.MultiRefWriteToFile(o.out, refs); err != nil {
		return fmt.Errorf("writing %s: %w", o.out, err)
	}
	return nil
}

// e2eRegistry is where upstream's test images are: every agnhost, busybox and nginx e2e.test
// names there (several versions) gets the image built here.
const e2eRegistry = "registry.k8s.io/e2e-test-images/"

// repository is an image name without its tag.
func repository(image string) string {
	if i := strings.LastIndex(image, ":"); i > strings.LastIndex(image, "/") {
		return image[:i]
	}
	return image
}

// busyboxApplets lists the applets of the busybox binary at path.
func busyboxApplets(path string) ([]string, error) {
	out, err := exec.Command(path, "--list").Output()
	if err != nil {
		return nil, fmt.Errorf("%s --list: %w", path, err)
	}
	return strings.Fields(string(out)), nil
}

// netApplets are served by nettool instead of busybox.
var netApplets = map[string]bool{"wget": true, "nc": true, "nslookup": true, "curl": true}

// busyboxFiles is a busybox root file system: /bin/busybox with a link per applet, nettool for
// the network applets, the users and groups upstream's images define, and the usual directories.
func busyboxFiles(busybox []byte, applets []string, nettool []byte) []file {
	files := []file{
		{path: "bin/busybox", mode: 0o755, data: busybox},
		{path: "bin/nettool", mode: 0o755, data: nettool},
		// Specs run `/bin/bash -c ...` in agnhost's image (upstream's has bash): busybox sh under that
		// name is enough for what they run.
		{path: "bin/bash", mode: 0o755, data: []byte("#!/bin/sh\nexec /bin/sh \"$@\"\n")},
		{path: "etc/passwd", mode: 0o644, data: []byte("root:x:0:0:root:/root:/bin/sh\n" +
			"user-defined-in-image:x:1000:1000::/home/user-defined-in-image:/bin/sh\n" +
			"nobody:x:65534:65534:nobody:/home:/bin/false\n")},
		{path: "etc/group", mode: 0o644, data: []byte("root:x:0:\nuser-defined-in-image:x:1000:\n" +
			"group-defined-in-image:x:50000:user-defined-in-image\nnogroup:x:65534:\n")},
		{path: "etc/hosts", mode: 0o644, data: []byte("127.0.0.1 localhost\n")},
		{path: "tmp", mode: fs.ModeDir | fs.ModeSticky | 0o777},
		{path: "root", mode: fs.ModeDir | 0o700},
		{path: "home/user-defined-in-image", mode: fs.ModeDir | 0o755},
		{path: "var/log", mode: fs.ModeDir | 0o755},
		{path: "usr/bin", mode: fs.ModeDir | 0o755},
	}
	for a := range netApplets {
		files = append(files, file{path: "bin/" + a, mode: fs.ModeSymlink | 0o777, link: "nettool"})
	}
	for _, a := range applets {
		if a == "busybox" || strings.Contains(a, "/") || netApplets[a] {
			continue
		}
		files = append(files, file{path: "bin/" + a, mode: fs.ModeSymlink | 0o777, link: "busybox"})
	}
	return files
}

// file is one entry of a layer: a regular file (data), a directory or a symlink (link).
type file struct {
	path string
	mode fs.FileMode
	data []byte
	link string
}

// layer is an uncompressed layer of files, with their parent directories.
func layer(files []file) (v1.Layer, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	dirs := map[string]bool{}
	for _, f := range files {
		parts := strings.Split(f.path, "/")
		for i := 1; i < len(parts); i++ {
			d := strings.Join(parts[:i], "/")
			if dirs[d] {
				continue
			}
			dirs[d] = true
			if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: d + "/", Mode: 0o755}); err != nil {
				return nil, err
			}
		}
		h := &tar.Header{Name: f.path, Mode: int64(f.mode.Perm())}
		if f.mode&fs.ModeSticky != 0 {
			h.Mode |= 0o1000
		}
		switch {
		case f.mode.IsDir():
			if dirs[f.path] {
				continue
			}
			dirs[f.path] = true
			h.Typeflag, h.Name = tar.TypeDir, f.path+"/"
		case f.mode&fs.ModeSymlink != 0:
			h.Typeflag, h.Linkname = tar.TypeSymlink, f.link
		default:
			h.Typeflag, h.Size = tar.TypeReg, int64(len(f.data))
		}
		if err := tw.WriteHeader(h); err != nil {
			return nil, err
		}
		if h.Typeflag == tar.TypeReg {
			if _, err := tw.Write(f.data); err != nil {
				return nil, err
			}
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	b := buf.Bytes()
	return tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil })
}

// config is the part of an image's configuration these images set.
type config struct {
	Entrypoint, Cmd, Env []string
}

// image is a linux/amd64 image of layers with cfg.
func image(cfg config, layers ...v1.Layer) (v1.Image, error) {
	img, err := mutate.AppendLayers(empty.Image, layers...)
	if err != nil {
		return nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", "amd64"
	cf.Config.Entrypoint, cf.Config.Cmd, cf.Config.Env = cfg.Entrypoint, cfg.Cmd, cfg.Env
	return mutate.ConfigFile(img, cf)
}
