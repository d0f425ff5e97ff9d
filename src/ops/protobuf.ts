/**
 * Loading a user's `.proto` for `dump --proto <file> --proto-type <package.Message>`: the message type
 * (protobufjs, imports resolved next to the file) and the state value decoder built from it
 * (`formats/state/serializers/protobuf.ts`).
 */

import { access } from "node:fs/promises";
import protobuf from "protobufjs";
import { InvalidArgumentError, NotFoundError } from "../errors.js";
import { protobufValueDecoder } from "../formats/state/serializers/protobuf.js";
import type { StateValue } from "../formats/state/serializers/types.js";

/** Decodes protobuf-carrying state values (`byte[]`, chill-protobuf Kryo values) into messages. */
export interface ProtobufValueDecoder {
  /** The message type's full name, e.g. `savepointkit.example.Reading`. */
  readonly typeName: string;
  /**
   * The value with its protobuf-carrying parts decoded (see `protobufValueDecoder`).
   * @throws InvalidArgumentError when such a part is not a valid message of the type.
   */
  decode(value: StateValue): StateValue;
}

/**
 * Loads `protoFile` (a local path) and returns the decoder of message type `typeName`
 * (`package.Message`, nested types as `package.Outer.Inner`).
 *
 * @throws NotFoundError when the file does not exist, InvalidArgumentError when it does not parse or
 *   has no such message type (the message lists the types it has).
 */
export async function loadProtobufDecoder(
  protoFile: string,
  typeName: string,
): Promise<ProtobufValueDecoder> {
  try {
    await access(protoFile);
  } catch (e) {
    throw new NotFoundError(protoFile, { cause: e });
  }
  let root: protobuf.Root;
  try {
    root = await protobuf.load(protoFile);
  } catch (e) {
    throw new InvalidArgumentError(`--proto ${protoFile}: ${(e as Error).message}`);
  }
  let type: protobuf.Type;
  try {
    type = root.lookupType(typeName);
  } catch {
    const known: string[] = [];
    const walk = (ns: protobuf.NamespaceBase): void => {
      for (const o of ns.nestedArray) {
        if (o instanceof protobuf.Type) known.push(o.fullName.replace(/^\./, ""));
        if (o instanceof protobuf.Namespace || o instanceof protobuf.Type) walk(o);
      }
    };
    walk(root);
    throw new InvalidArgumentError(
      `--proto-type ${typeName}: no such message type in ${protoFile} (it has: ${known.join(", ") || "none"})`,
    );
  }
  const name = type.fullName.replace(/^\./, "");
  const decode = protobufValueDecoder(type, {
    fail: (reason) => {
      throw new InvalidArgumentError(`--proto-type ${name}: ${reason}`);
    },
  });
  return { typeName: name, decode };
}
