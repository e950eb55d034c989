namespace Alpine.Prep;

/// <summary>
/// Per user, the items liked and followed in the train part (SPEC D2, D9), as CSR lists:
/// user u's liked items are <c>LikedItems[LikedOffsets[u]..LikedOffsets[u+1]]</c>.
/// Used once, to initialise the user matrix.
/// </summary>
public sealed record LikeFollowLists(int[] LikedOffsets, int[] LikedItems, int[] FollowedOffsets, int[] FollowedItems)
{
    public int UserCount => LikedOffsets.Length - 1;
}
