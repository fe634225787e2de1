package io.tandem.ha;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The nfnetlink batch encoding the self-fence sends (the kernel side is {@code NftFenceIT}). */
class NftSetElementsTest {

    /** One netlink message of a batch: its type and its attribute bytes after the nfgenmsg. */
    private record Message(short type, int length, ByteBuffer attributes) {
    }

    private static List<Message> messages(byte[] batch) {
        ByteBuffer b = ByteBuffer.wrap(batch).order(ByteOrder.nativeOrder());
        List<Message> out = new ArrayList<>();
        while (b.remaining() >= 16) {
            int start = b.position();
            int len = b.getInt(start);
            short type = b.getShort(start + 4);
            ByteBuffer attrs = ByteBuffer.wrap(batch, start + 20, len - 20).slice().order(ByteOrder.nativeOrder());
            out.add(new Message(type, len, attrs));
            b.position(start + ((len + 3) & ~3));
        }
        assertThat(b.remaining()).as("no trailing bytes").isZero();
        return out;
    }

    /** Top-level attribute types of a message, in order. */
    private static List<Integer> attributeTypes(ByteBuffer a) {
        List<Integer> types = new ArrayList<>();
        for (int at = 0; at + 4 <= a.limit(); ) {
            int len = Short.toUnsignedInt(a.getShort(at));
            types.add(a.getShort(at + 2) & 0x7fff);
            at += (len + 3) & ~3;
        }
        return types;
    }

    @Test
    void aFlushCarriesNoElementListAndARangeEndCarriesTheIntervalEndFlag() {
        byte[] lo = new byte[8];
        byte[] past = ByteBuffer.allocate(8).putLong(1_796_000_000_000_000_001L).array();
        byte[] batch = NftSetElements.batch(7, List.of(
                NftSetElements.Op.flush(NftSetElements.NFPROTO_INET, "tandem_fence_lb1", "until0"),
                new NftSetElements.Op(true, NftSetElements.NFPROTO_INET, "tandem_fence_lb1", "until0",
                        List.of(lo, past), List.of(false, true), 0)));
        List<Message> m = messages(batch);
        assertThat(m).extracting(Message::type).containsExactly((short) 0x10, (short) ((10 << 8) | 14),
                (short) ((10 << 8) | 12), (short) 0x11);
        assertThat(attributeTypes(m.get(1).attributes())).as("flush: table and set only").containsExactly(1, 2);
        assertThat(attributeTypes(m.get(2).attributes())).as("add: table, set, elements").containsExactly(1, 2, 3);
        // the flag: attribute NFTA_SET_ELEM_FLAGS (3), 8 bytes, big-endian NFT_SET_ELEM_INTERVAL_END (1),
        // right after the second key and only there
        byte[] flag = ByteBuffer.allocate(8).order(ByteOrder.nativeOrder()).putShort((short) 8).putShort((short) 3)
                .order(ByteOrder.BIG_ENDIAN).putInt(1).array();
        byte[] add = new byte[m.get(2).attributes().limit()];
        m.get(2).attributes().get(0, add);
        int first = indexOf(add, flag, 0);
        assertThat(first).as("the interval-end flag is encoded").isPositive();
        assertThat(indexOf(add, flag, first + 1)).as("once").isEqualTo(-1);
        assertThat(indexOf(add, past, 0)).as("the end key precedes its flag").isBetween(0, first);
    }

    @Test
    void badOpsAreRefusedBeforeAnythingIsEncoded() {
        assertThatThrownBy(() -> new NftSetElements.Op(true, NftSetElements.NFPROTO_INET, "t", "s",
                List.of(new byte[8]), List.of(false, true), 0))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("intervalEnds: 2 (expected one per key: 1)");
        assertThatThrownBy(() -> new NftSetElements.Op(true, NftSetElements.NFPROTO_INET, "t", "s", List.of(), 5))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("keys: none");
    }

    private static int indexOf(byte[] hay, byte[] needle, int from) {
        outer:
        for (int i = from; i + needle.length <= hay.length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (hay[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }
}
