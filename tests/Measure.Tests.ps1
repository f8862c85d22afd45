# Measure-DaxFsImage: where the bytes of an image go.
BeforeAll {
    . (Join-Path $PSScriptRoot 'Common.ps1')
    $script:Basic = Join-Path $Vectors 'basic.static.daxfs'
}

Describe 'Measure-DaxFsImage' {
    It 'accounts for every byte of <_>' -ForEach @(Get-ChildItem (Join-Path $PSScriptRoot 'vectors') -Filter *.daxfs | ForEach-Object Name) {
        $path = Join-Path $Vectors $_
        $m = Measure-DaxFsImage $path
        $m | Should -BeOfType DaxFs.DaxFsImageSpace
        $m.Length | Should -Be (Get-Item $path).Length
        ($m.Usage | Measure-Object Bytes -Sum).Sum | Should -Be $m.Length
        foreach ($u in $m.Usage) { $m.($u.Kind.ToString()) | Should -Be $u.Bytes }
        [math]::Round(($m.Usage | Measure-Object Percent -Sum).Sum) | Should -Be 100
    }
    It 'names the structures of the basic image' {
        $m = Measure-DaxFsImage $Basic
        $m.Superblock | Should -Be 4096
        $m.InodeTable | Should -Be (19 * 64)
        $m.FileData | Should -Be 9150
        $m.FileCount | Should -Be 11
        $m.HardLinkNames | Should -Be 1
        $m.LargestFiles[0].Path | Should -Be '/a/five000'
        $m.LargestFiles[0].Bytes | Should -Be 5000
        $m.LargestDirectories[0].Path | Should -Be '/'
    }
    It 'lists only -Top largest files and directories' {
        $m = Measure-DaxFsImage (Join-Path $Vectors 'wide.static.daxfs') -Top 2
        $m.LargestFiles.Count | Should -Be 2
        $m.LargestDirectories.Count | Should -Be 2
    }
    It 'shows the branch table and the delta region of a branching image' {
        $m = Measure-DaxFsImage (Join-Path $Vectors 'basic.branching.daxfs')
        $m.BranchTable | Should -Be 32768
        $m.DeltaFree | Should -Be 1MB
        $m.DeltaUsed | Should -Be 0
    }
    It 'takes images from Get-ChildItem and Get-DaxFsImage' {
        @(Get-ChildItem $Vectors -Filter '*.static.daxfs' | Measure-DaxFsImage).Count | Should -Be 5
        (Get-DaxFsImage $Basic | Measure-DaxFsImage).Path | Should -Be $Basic
    }
    It 'shows every category with bytes and percent in its default view' {
        $text = Measure-DaxFsImage $Basic | Out-String -Width 120
        $text | Should -Match 'FileData\s+8\.9 KiB\s+11\.2%\s+9150 bytes'
        $text | Should -Match 'Padding\s+57 KiB'
        $text | Should -Match '4\.9 KiB /a/five000'
    }
    It 'accounts for every byte of the format-8 image <_>' -ForEach @(
        @(Get-ChildItem (Join-Path $PSScriptRoot 'vectors/v8') -Filter *.daxfs | Where-Object Name -ne 'stride.v8.split.daxfs') +
        @(Get-ChildItem (Join-Path $PSScriptRoot 'fixtures/overlay') -Filter *.daxfs) | ForEach-Object FullName) {
        $backing = [IO.Path]::ChangeExtension($_, '.backing')
        $m = if (Test-Path $backing) { Measure-DaxFsImage $_ -BackingFile $backing } else { Measure-DaxFsImage $_ }
        $m.Length | Should -Be (Get-Item $_).Length
        ($m.Usage | Measure-Object Bytes -Sum).Sum | Should -Be $m.Length
        foreach ($u in $m.Usage) { $m.($u.Kind) | Should -Be $u.Bytes }
        $m.BlockSize | Should -Be 4096
        $m.Superblock | Should -Be 4096
        $m.BaseSuperblock + $m.BranchTable + $m.DeltaUsed + $m.DeltaFree | Should -Be 0 -Because 'format 8 has none of them'
    }
    It 'shows the overlay pool a read-write mount wrote into, and what is left of it' {
        $split = Join-Path $PSScriptRoot 'fixtures/overlay/overlay-after-writes.daxfs'
        $m = Measure-DaxFsImage $split
        $bytes = [IO.File]::ReadAllBytes($split)
        $overlay = [BitConverter]::ToUInt64($bytes, 64)
        $poolSize = [BitConverter]::ToUInt64($bytes, $overlay + 24); $poolAlloc = [BitConverter]::ToUInt64($bytes, $overlay + 32)
        $m.Mode | Should -Be 'Split'
        $m.OverlayUsed | Should -Be $poolAlloc
        $m.OverlayFree | Should -Be ($poolSize - $poolAlloc)
        $m.PageCache | Should -Be ([BitConverter]::ToUInt64($bytes, 96))
        $m.FileData | Should -Be 0 -Because 'the file bytes of a split image are in its backing file'
        $m.ExternalFileBytes | Should -Be $m.FileBytes
        $text = $m | Out-String -Width 80
        $text | Should -Match 'OverlayUsed\s+\S+ KiB\s+[\d.]+%\s+\d+ bytes'
        $text | Should -Match 'OverlayFree\s+1\.9 MiB'
        $text -split "`n" | Where-Object { $_.TrimEnd().Length -gt 80 } | Should -BeNullOrEmpty
    }
    It 'counts the padding of a format-8 image built for 64 KiB pages' {
        $src = Join-Path $TestDrive 'pages'
        New-Item -ItemType Directory "$src/d" -Force | Out-Null
        foreach ($i in 1..5) { [IO.File]::WriteAllBytes("$src/d/f$i", [byte[]]::new($i * 1000)) }
        $small = Measure-DaxFsImage (New-DaxFsImage -Path $src -Destination (Join-Path $TestDrive 'p4.daxfs') -Format 8 -PageSize 4096)
        $large = Measure-DaxFsImage (New-DaxFsImage -Path $src -Destination (Join-Path $TestDrive 'p64.daxfs') -Format 8 -PageSize 65536)
        $large.BlockSize | Should -Be 65536
        $large.Superblock | Should -Be 65536
        $large.Length % 65536 | Should -Be 0
        foreach ($k in 'InodeTable', 'Directories', 'FileData') { $large.$k | Should -Be $small.$k }
        ($large.Padding - $small.Padding) | Should -Be ($large.Length - $small.Length - (65536 - 4096)) -Because 'only the superblock block and the padding grow with the page'
        $large | Out-String -Width 80 | Should -Match 'BlockSize\s+:\s+64 KiB'
    }
    It 'measures the same tree as format 5 and format 8 alike, apart from the headers and the padding' {
        $v5 = Measure-DaxFsImage (Join-Path $Vectors 'big.static.daxfs')
        $v8 = Measure-DaxFsImage (Join-Path $Vectors 'v8/big.v8.static.daxfs')
        foreach ($k in 'InodeTable', 'Directories', 'FileData', 'SymlinkTargets', 'FileCount', 'DirectoryCount') { $v8.$k | Should -Be $v5.$k }
        $v8.LargestFiles.Path | Should -Be $v5.LargestFiles.Path
    }
    It 'reports a missing image as ImageNotFound' {
        { Measure-DaxFsImage (Join-Path $TestDrive 'nosuch.daxfs') -ErrorAction Stop } | Should -Throw -ErrorId 'ImageNotFound,DaxFs.Commands.MeasureDaxFsImageCommand'
    }
    It 'counts a built image exactly, with its bytes past total_size as trailing' {
        $src = Join-Path $TestDrive 'src'
        New-Item -ItemType Directory "$src/a/b" -Force | Out-Null
        foreach ($i in 1..50) { [IO.File]::WriteAllBytes("$src/a/f$i", [byte[]]::new($i * 97)) }
        New-Item -ItemType SymbolicLink -Path "$src/a/b/link" -Target '../f1' | Out-Null
        $img = New-DaxFsImage -Path $src -Destination (Join-Path $TestDrive 'built.daxfs')
        [IO.File]::AppendAllText($img.Path, 'xyz')
        $m = Measure-DaxFsImage $img
        ($m.Usage | Measure-Object Bytes -Sum).Sum | Should -Be (Get-Item $img.Path).Length
        $m.FileData | Should -Be ((1..50 | ForEach-Object { $_ * 97 }) | Measure-Object -Sum).Sum
        $m.SymlinkTargets | Should -Be 6
        $m.Trailing | Should -Be 3
    }
}
