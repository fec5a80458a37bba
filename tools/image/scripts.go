package main

// The disk the scripts expect, as the `virt` machine names it; a real board
// passes its own on the kernel command line (kpos.disk=/dev/mmcblk0p).
//
// initScript is the boot step, the initramfs's /init: it loads the modules,
// mounts the data partition, chooses the root slot from the boot state the
// updater keeps there (docs/image.md, "Choosing a slot") and switches to it,
// read-only.
const initScript = `#!/bin/sh
/bin/busybox --install -s /bin
export PATH=/bin
mount -t devtmpfs dev /dev
mount -t proc proc /proc
mount -t sysfs sys /sys
vivid=
disk=/dev/vda
for w in $(cat /proc/cmdline); do
	case "$w" in
	kpos.disk=*) disk="${w#kpos.disk=}" ;;
	kpos.vivid) vivid=1 ;;
	esac
done
while read -r m; do
	[ "$m" = vivid.ko ] && [ -z "$vivid" ] && continue
	if [ "$m" = vivid.ko ]; then
		# one device with a video capture and a video output node, both
		# S-Video, so that its Loop Video control can show on the capture
		# what is written to the output
		insmod /lib/modules/$m n_devs=1 node_types=0x101 num_inputs=1 input_types=0x2 num_outputs=1 output_types=0x0 || echo "boot: vivid did not load"
	else
		insmod /lib/modules/$m || echo "boot: insmod $m failed"
	fi
done < /lib/modules/order

n=0
while [ ! -b ${disk}3 ] && [ $n -lt 100 ]; do
	# the system disk is the one with the three partitions (a second disk,
	# an update medium, may have taken its name)
	for d in /dev/vd?; do [ -b ${d}3 ] && disk=$d; done
	[ -b ${disk}3 ] || sleep 0.1
	n=$((n+1))
done
# Stable names for the firmware: the root slots as the board file names
# them ([firmware] slots), whatever the disk is called.
mkdir -p /dev/kpos
ln -sf ${disk}1 /dev/kpos/slot-a
ln -sf ${disk}2 /dev/kpos/slot-b
ln -sf ${disk}3 /dev/kpos/data
# The data partition: ext4, journalled metadata with ordered data and write
# barriers (the default, named so that nothing weakens it): an fsync that
# returned is on the disk, and a rename over a file replaces it only after
# its data (the journal's and the key store's own protocols rely on both).
if ! mount -t ext4 -o rw,noatime,nosuid,nodev,noexec,data=ordered,barrier=1,auto_da_alloc,errors=remount-ro ${disk}3 /data; then
	echo "boot: no data partition"; sleep 5; reboot -f
fi

# Choosing the slot (docs/image.md): the updater's state on the data
# partition (firmware/update-state.json, written by firmware/update) names
# the active slot and whether it is on trial. A trial slot whose firmware
# reported a failed health check, or that was booted MaxTrialBoots (3) times
# without confirming (the boot step counts its own boots of it too, in
# firmware/boot-tries, for a firmware that never starts), is abandoned here
# for the previous slot; the firmware's own boot record then agrees.
st=/data/data/firmware/update-state.json
slot=A; trial=; failed=; boots=0; previous=
if [ -f $st ]; then
	slot=$(sed -n 's/^  "active": "\([AB]\)",*$/\1/p' $st)
	grep -q '^  "trial": true' $st && trial=1
	grep -q '^  "failed": "' $st && failed=1
	boots=$(sed -n 's/^  "boots": \([0-9]*\),*$/\1/p' $st)
	previous=$(sed -n 's/^  "previous": "\([AB]\)",*$/\1/p' $st)
fi
case "$slot" in A|B) ;; *) echo "boot: no valid slot in $st: slot A"; slot=A; trial= ;; esac
if [ -n "$trial" ]; then
	tries=$(cat /data/data/firmware/boot-tries 2>/dev/null)
	tries=$((${tries:-0} + 1))
	echo $tries > /data/data/firmware/boot-tries
	if [ -n "$failed" ] || [ "${boots:-0}" -ge 3 ] || [ $tries -gt 3 ]; then
		echo "boot: slot $slot on trial failed (health check failed: ${failed:-no}, boots ${boots:-0}, tries $tries): rolled back to slot ${previous:-the other}"
		case "$slot" in A) slot=${previous:-B} ;; B) slot=${previous:-A} ;; esac
		trial=
	fi
else
	rm -f /data/data/firmware/boot-tries
fi
sync
case "$slot" in A) root=${disk}1 ;; B) root=${disk}2 ;; esac
echo "boot: slot $slot${trial:+ on trial} from $root"
mount -t ext4 -o ro,noatime $root /newroot || { echo "boot: slot $slot does not mount"; sleep 5; reboot -f; }
mount --move /data /newroot/var/lib/kpos
mount -t tmpfs -o mode=0755,nosuid,nodev run /newroot/run
[ -d /extra ] && cp -a /extra /newroot/run/extra
mount --move /dev /newroot/dev
umount /proc /sys
export KPOS_SLOT=$slot
exec switch_root /newroot /sbin/init
`

// rootInit is the root slot's /sbin/init: the network for the card reader's
// link, pcscd, then kpos, started again whenever it exits.
const rootInit = `#!/bin/sh
export PATH=/bin:/usr/bin:/usr/sbin:/sbin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t tmpfs -o mode=1777,nosuid,nodev tmp /tmp
ip link set lo up
ip link set eth0 up 2>/dev/null && ip addr add 10.0.2.15/24 dev eth0 && ip route add default via 10.0.2.2
# An update medium: a second disk without partitions, mounted read-only.
for d in /dev/vd?; do
	[ -b ${d}1 ] || mount -t ext4 -o ro,nosuid,nodev,noexec $d /media 2>/dev/null
done
args=
# /etc/kpos/host pins the acquirer's address in a release; otherwise the
# board file's, or the test rig's kpos.host= on the kernel command line.
[ -f /etc/kpos/host ] && args="-host $(cat /etc/kpos/host)"
for w in $(cat /proc/cmdline); do
	case "$w" in
	kpos.host=*) [ -f /etc/kpos/host ] || args="$args -host ${w#kpos.host=}" ;;
	kpos.run=*) run="${w#kpos.run=}" ;;
	esac
done
echo "init: slot $KPOS_SLOT"
if [ -n "$run" ]; then
	# a test program in place of the firmware (the extra initramfs archive
	# the test runner adds carries it); the runner reads its verdict on the
	# console and cuts the power
	/run/extra/$run; echo "init: $run exited $?"; sync
	while true; do sleep 3600; done
fi
pcscd --foreground --error </dev/null &
n=0
while [ ! -S /run/pcscd/pcscd.comm ] && [ $n -lt 100 ]; do sleep 0.1; n=$((n+1)); done
while true; do
	echo "init: starting kpos"
	kpos -board hw -board-file /etc/kpos/board.toml -data /var/lib/kpos/data -params /usr/share/kpos $args </dev/null
	echo "init: kpos exited $?"
	sleep 1
done
`
