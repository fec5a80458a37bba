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
		# one device: video capture, video output, looped back
		insmod /lib/modules/$m n_devs=1 node_types=0x101 num_inputs=1 input_types=0x3 num_outputs=1 output_types=0x1 loop_video=1 allocators=0 || echo "boot: vivid did not load"
	else
		insmod /lib/modules/$m || echo "boot: insmod $m failed"
	fi
done < /lib/modules/order

n=0
while [ ! -b ${disk}3 ] && [ $n -lt 100 ]; do sleep 0.1; n=$((n+1)); done
# The data partition: ext4, journalled metadata with ordered data and write
# barriers (the default, named so that nothing weakens it): an fsync that
# returned is on the disk, and a rename over a file replaces it only after
# its data (the journal's and the key store's own protocols rely on both).
if ! mount -t ext4 -o rw,noatime,nosuid,nodev,noexec,data=ordered,barrier=1,auto_da_alloc,errors=remount-ro ${disk}3 /data; then
	echo "boot: no data partition"; sleep 5; reboot -f
fi

# Choosing the slot: boot/next names a slot on trial (written by the updater
# after it installed one), boot/active the confirmed one. A trial slot gets
# one boot: the step removes boot/next before it boots it (and syncs), so a
# trial that dies or is cut before kpos confirms it leaves boot/active in
# charge at the next boot.
mkdir -p /data/boot
slot=$(cat /data/boot/active 2>/dev/null)
case "$slot" in A|B) ;; *) slot=A ;; esac
trial=
if [ -f /data/boot/next ]; then
	next=$(cat /data/boot/next)
	rm -f /data/boot/next
	case "$next" in A|B) trial=1; slot=$next; echo "$slot" > /data/boot/trial ;; esac
elif [ -f /data/boot/trial ]; then
	echo "boot: slot $(cat /data/boot/trial) was on trial and not confirmed: rolled back to $slot"
	rm -f /data/boot/trial
	echo "$(cat /data/boot/rollbacks 2>/dev/null)x" > /data/boot/rollbacks
fi
sync
case "$slot" in A) root=${disk}1 ;; B) root=${disk}2 ;; esac
echo "boot: slot $slot${trial:+ on trial} from $root"
mount -t ext4 -o ro,noatime $root /newroot || { echo "boot: slot $slot does not mount"; rm -f /data/boot/trial; sync; reboot -f; }
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
args=
for w in $(cat /proc/cmdline); do
	case "$w" in
	kpos.host=*) args="$args -host ${w#kpos.host=}" ;;
	kpos.run=*) run="${w#kpos.run=}" ;;
	esac
done
echo "init: slot $KPOS_SLOT"
if [ -n "$run" ]; then
	# a test program in place of the firmware (the extra initramfs archive
	# the test runner adds carries it)
	/run/extra/$run; echo "init: $run exited $?"; sync; poweroff -f
fi
pcscd --foreground --error </dev/null &
n=0
while [ ! -S /run/pcscd/pcscd.comm ] && [ $n -lt 100 ]; do sleep 0.1; n=$((n+1)); done
while true; do
	echo "init: starting kpos"
	kpos -board hw -board-file /etc/kpos/board.toml -data /var/lib/kpos -params /usr/share/kpos $args </dev/null
	echo "init: kpos exited $?"
	sleep 1
done
`
